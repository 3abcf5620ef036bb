package loam_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	loam "loam.dev/loam-go"
)

var (
	serverURL string
	adminKey  string
)

// TestMain starts a live Loam through sdks/testserver.mjs (needs `npm run build`).
func TestMain(m *testing.M) {
	if u := os.Getenv("LOAM_TEST_URL"); u != "" {
		serverURL, adminKey = u, os.Getenv("LOAM_TEST_API_KEY")
		os.Exit(m.Run())
	}
	node := os.Getenv("NODE")
	if node == "" {
		node = "node"
	}
	cmd := exec.Command(node, filepath.Join("..", "testserver.mjs"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot start testserver:", err)
		os.Exit(1)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver did not start Loam (did you run `npm run build`?)")
		_ = cmd.Process.Kill()
		os.Exit(1)
	}
	var info struct {
		URL    string `json:"url"`
		APIKey string `json:"api_key"`
	}
	_ = json.Unmarshal([]byte(line), &info)
	serverURL, adminKey = info.URL, info.APIKey
	code := m.Run()
	stdin.Close()
	_ = cmd.Wait()
	os.Exit(code)
}

func newClient(opts ...loam.Option) *loam.Client {
	return loam.NewClient(append([]loam.Option{loam.WithAPIKey(adminKey), loam.WithBaseURL(serverURL)}, opts...)...)
}

func unique() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

var schema = &loam.DatasetSchema{Fields: []loam.SchemaField{
	{Name: "email", Type: "string", Required: true, PII: "email"},
	{Name: "age", Type: "integer"},
	{Name: "zip", Type: "string"},
}}

func rows(n int) []loam.NewRecord {
	out := make([]loam.NewRecord, n)
	for i := range out {
		out[i] = loam.NewRecord{Data: loam.JSON{"email": fmt.Sprintf("user%d@example.com", i), "age": 20 + i, "zip": fmt.Sprintf("9410%d", i%3)}}
	}
	return out
}

// must returns v, or panics (failing the test with a stack trace) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func kind(err error) string {
	var lerr *loam.Error
	if errors.As(err, &lerr) {
		return lerr.Kind
	}
	return fmt.Sprintf("not a *loam.Error: %v", err)
}

func TestDatasets(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	name := "ds-" + unique()
	ds := must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: name, Schema: schema, Tags: []string{"sdk"}}))
	if !strings.HasPrefix(ds.ID, "ds_") || len(ds.EncryptedFields) != 1 {
		t.Fatalf("unexpected dataset %+v", ds)
	}
	if got := must(c.Datasets.Get(ctx, ds.ID)); got.Name != name {
		t.Fatalf("get: %s", got.Name)
	}
	all := must(c.Datasets.List(ctx, loam.ListDatasetsParams{Tag: "sdk", Limit: 1}).All())
	found := false
	for _, d := range all {
		found = found || d.ID == ds.ID
	}
	if !found {
		t.Fatal("created dataset not listed")
	}
	if u := must(c.Datasets.Update(ctx, ds.ID, loam.JSON{"description": "described"})); u.Description == nil || *u.Description != "described" {
		t.Fatal("update")
	}
	if a := must(c.Datasets.Archive(ctx, ds.ID)); a.Status != "archived" {
		t.Fatal("archive")
	}
	if r := must(c.Datasets.Restore(ctx, ds.ID)); r.Status != "active" {
		t.Fatal("restore")
	}
	must(c.Records.InsertMany(ctx, ds.ID, rows(3)))
	if st := must(c.Datasets.Stats(ctx, ds.ID, "")); st["record_count"].(float64) != 3 {
		t.Fatalf("stats %v", st)
	}
	if l := must(c.Datasets.Lineage(ctx, ds.ID)); l["dataset_id"] != ds.ID {
		t.Fatal("lineage")
	}
	idx := must(c.Datasets.CreateIndex(ctx, ds.ID, "age"))
	if ix := must(c.Datasets.ListIndexes(ctx, ds.ID)); len(ix) != 1 || ix[0].Field != "age" {
		t.Fatal("indexes")
	}
	if err := c.Datasets.DeleteIndex(ctx, ds.ID, idx.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Datasets.Delete(ctx, ds.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Datasets.Get(ctx, ds.ID); !loam.IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestRecordsPaginationAndStreams(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	ds := must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: "rec-" + unique(), Schema: schema}))
	res := must(c.Records.InsertManyChunked(ctx, ds.ID, rows(9), 4))
	if res.Inserted != 9 || len(res.IDs) != 9 {
		t.Fatalf("insert %+v", res)
	}
	it := c.Records.Iterate(ctx, ds.ID, loam.RecordQuery{Filter: loam.Filter{"age": loam.Filter{"$gte": 22}}, Limit: 2})
	var ages []float64
	for it.Next() {
		ages = append(ages, it.Item().Data["age"].(float64))
	}
	if it.Err() != nil || len(ages) != 7 || it.Pages() < 4 {
		t.Fatalf("iterate: %v %v pages=%d", it.Err(), ages, it.Pages())
	}
	// a channel stream
	items, errs := c.Records.Query(ctx, ds.ID, loam.RecordQuery{Sort: "-age", Limit: 3}).Chan()
	n := 0
	for rec := range items {
		if n == 0 && rec.Data["age"].(float64) != 28 {
			t.Fatal("sort")
		}
		n++
	}
	if err := <-errs; err != nil || n != 9 {
		t.Fatalf("chan: %v %d", err, n)
	}
	// a callback stream
	count := 0
	if err := c.Records.Stream(ctx, ds.ID, loam.RecordQuery{Filter: loam.Filter{"zip": loam.Filter{"$in": []string{"94100"}}}}, func(r loam.Record) error { count++; return nil }); err != nil || count != 3 {
		t.Fatalf("stream: %v %d", err, count)
	}
	listed := must(c.Records.List(ctx, ds.ID, loam.RecordQuery{Filter: loam.Filter{"age": loam.Filter{"$lt": 22}}, Fields: []string{"age"}, Limit: 1}).All())
	if len(listed) != 2 || len(listed[0].Data) != 1 {
		t.Fatalf("list %+v", listed)
	}
	rec := must(c.Records.Get(ctx, ds.ID, res.IDs[0], ""))
	upd := must(c.Records.Update(ctx, ds.ID, rec.ID, loam.JSON{"age": 99, "zip": nil}, ""))
	if upd.Data["age"].(float64) != 99 || upd.Data["zip"] != nil {
		t.Fatal("update")
	}
	if _, err := c.Records.Update(ctx, ds.ID, rec.ID, loam.JSON{"age": 1}, `"stale"`); kind(err) != loam.KindPreconditionFailed {
		t.Fatalf("want 412, got %v", err)
	}
	if err := c.Records.Delete(ctx, ds.ID, rec.ID); err != nil {
		t.Fatal(err)
	}

	body := must(c.Records.Download(ctx, ds.ID, loam.ExportParams{Format: "csv"}))
	data, _ := io.ReadAll(body)
	body.Close()
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 9 || lines[0] != "id,email,age,zip" {
		t.Fatalf("download: %q", data)
	}
	exp := must(c.Records.Export(ctx, ds.ID, loam.ExportParams{Filter: loam.Filter{"age": loam.Filter{"$gte": 27}}}))
	must(c.Jobs.Wait(ctx, exp.Job.ID))
	if info := must(c.Records.GetExport(ctx, exp.ExportID)); info.Status != "succeeded" || info.RecordCount != 2 {
		t.Fatalf("export %+v", info)
	}
	rc := must(c.Records.DownloadExport(ctx, exp.ExportID))
	data, _ = io.ReadAll(rc)
	rc.Close()
	if strings.Count(string(data), "\n") != 2 {
		t.Fatalf("export body %q", data)
	}

	started := must(c.Records.Import(ctx, ds.ID, strings.NewReader("{\"id\":\"n1\",\"email\":\"n1@example.com\"}\n{\"id\":\"n2\",\"age\":\"old\"}\n"), loam.ImportParams{}))
	must(c.Jobs.Wait(ctx, started.Job.ID))
	imp := must(c.Records.GetImport(ctx, ds.ID, started.ImportID))
	if imp.Processed != 2 || imp.Failed != 1 {
		t.Fatalf("import %+v", imp)
	}
	if errs := must(c.Records.ImportErrors(ctx, ds.ID, imp.ID, 0).All()); len(errs) == 0 || errs[0].Line != 2 {
		t.Fatalf("import errors %+v", errs)
	}
	csv := must(c.Records.ImportAndWait(ctx, ds.ID, strings.NewReader("id,email,age\nc1,c1@example.com,7\n"), loam.ImportParams{Format: "csv"}))
	if csv.Processed != 1 {
		t.Fatal("csv import")
	}
}

func TestVersions(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	ds := must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: "ver-" + unique(), Schema: schema}))
	must(c.Records.InsertMany(ctx, ds.ID, []loam.NewRecord{{ID: "a", Data: rows(1)[0].Data}}))
	v1 := must(c.Versions.Create(ctx, ds.ID, loam.CreateVersionParams{Name: "v1"}))
	must(c.Records.InsertMany(ctx, ds.ID, []loam.NewRecord{{ID: "b", Data: rows(1)[0].Data}}))
	v2 := must(c.Versions.Create(ctx, ds.ID, loam.CreateVersionParams{Name: "v2"}))
	if vs := must(c.Versions.List(ctx, ds.ID, 1).All()); len(vs) != 2 || vs[0].ID != v1.ID {
		t.Fatal("list")
	}
	if g := must(c.Versions.Get(ctx, ds.ID, v1.ID)); g.Checksum != v1.Checksum {
		t.Fatal("get")
	}
	if u := must(c.Versions.Update(ctx, ds.ID, v1.ID, loam.JSON{"description": "first"})); *u.Description != "first" {
		t.Fatal("update")
	}
	if d := must(c.Versions.Diff(ctx, ds.ID, v1.ID, v2.ID, false)); len(d.Added) != 1 || d.Added[0] != "b" {
		t.Fatalf("diff %+v", d)
	}
	if d := must(c.Versions.Deprecate(ctx, ds.ID, v1.ID)); d.Status != "deprecated" {
		t.Fatal("deprecate")
	}
	if err := c.Versions.Delete(ctx, ds.ID, v2.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAnonymization(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	u := unique()
	found := must(c.Anonymization.Analyze(ctx, loam.JSON{"text": "Mail ada@example.com"}))
	if !strings.Contains(fmt.Sprint(found["entities"]), "EMAIL_ADDRESS") {
		t.Fatal("analyze")
	}
	masked := must(c.Anonymization.Anonymize(ctx, loam.JSON{"text": "Mail ada@example.com", "operators": loam.JSON{"EMAIL_ADDRESS": loam.JSON{"type": "mask", "keep_last": 4}}}))
	if strings.Contains(masked["text"].(string), "ada@") {
		t.Fatal("mask")
	}
	table := []loam.JSON{}
	for i := 0; i < 8; i++ {
		table = append(table, loam.JSON{"age": 30 + i%4, "zip": fmt.Sprintf("9410%d", i%2)})
	}
	k := must(c.Anonymization.Anonymize(ctx, loam.JSON{"records": table, "privacy_model": loam.JSON{"k": 2, "quasi_identifiers": []loam.JSON{{"field": "age", "type": "number"}}}}))
	if k["privacy"].(map[string]interface{})["satisfied"] != true {
		t.Fatal("k-anonymity")
	}
	must(c.Anonymization.Validate(ctx, loam.JSON{"records": table, "quasi_identifiers": []string{"zip", "age"}, "k": 2}))
	tok := must(c.Anonymization.Anonymize(ctx, loam.JSON{"text": "Mail ada@example.com", "operators": loam.JSON{"EMAIL_ADDRESS": loam.JSON{"type": "tokenize"}}}))
	if back := must(c.Anonymization.Deanonymize(ctx, loam.JSON{"text": tok["text"]})); back["text"] != "Mail ada@example.com" {
		t.Fatal("deanonymize")
	}
	if len(must(c.Anonymization.Techniques(ctx))) == 0 {
		t.Fatal("techniques")
	}
	must(c.Anonymization.SetBudget(ctx, "b-"+u, 2))
	must(c.Anonymization.Aggregate(ctx, loam.JSON{"budget": "b-" + u, "records": table, "query": loam.JSON{"type": "count", "epsilon": 0.5}}))
	if b := must(c.Anonymization.Budget(ctx, "b-"+u)); b["epsilon_remaining"].(float64) != 1.5 {
		t.Fatalf("budget %v", b)
	}
	must(c.Anonymization.Metrics(ctx))
	r := must(c.Anonymization.Recognizers.Create(ctx, loam.JSON{"name": "emp-" + u, "entity_type": "EMPLOYEE_ID", "patterns": []loam.JSON{{"regex": "E-\\d{6}", "score": 0.8}}}))
	must(c.Anonymization.Recognizers.Get(ctx, r.ID))
	if len(must(c.Anonymization.Recognizers.List(ctx))) == 0 {
		t.Fatal("recognizers")
	}
	must(c.Anonymization.Recognizers.Update(ctx, r.ID, loam.JSON{"context": []string{"employee"}}))
	if err := c.Anonymization.Recognizers.Delete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	ds := must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: "anon-" + u, Schema: schema}))
	must(c.Records.InsertMany(ctx, ds.ID, rows(6)))
	job := must(c.Datasets.Anonymize(ctx, ds.ID, loam.AnonymizeDatasetParams{Policy: loam.JSON{"operators": loam.JSON{"EMAIL_ADDRESS": loam.JSON{"type": "mask"}}}, Name: "anon-out-" + u}))
	done := must(c.Jobs.Wait(ctx, job.ID))
	var result struct {
		DatasetID string `json:"dataset_id"`
	}
	_ = json.Unmarshal(done.Result, &result)
	if d := must(c.Datasets.Get(ctx, result.DatasetID)); d.RecordCount != 6 {
		t.Fatal("derived dataset")
	}
	must(c.Datasets.Aggregate(ctx, ds.ID, loam.JSON{"type": "count", "epsilon": 0.1}, ""))
}

func TestAPIKeysPoliciesAuditContent(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	u := unique()
	key := must(c.APIKeys.Create(ctx, loam.CreateAPIKeyParams{Name: "key-" + u, Scopes: []string{"datasets:read"}}))
	must(c.APIKeys.Get(ctx, key.ID))
	if len(must(c.APIKeys.List(ctx, 1).All())) < 2 {
		t.Fatal("list keys")
	}
	reader := loam.NewClient(loam.WithAPIKey(key.Key), loam.WithBaseURL(serverURL))
	if _, err := reader.Datasets.Create(ctx, loam.CreateDatasetParams{Name: "nope-" + u}); kind(err) != loam.KindPermissionDenied {
		t.Fatalf("want 403, got %v", err)
	}
	rotated := must(c.APIKeys.Rotate(ctx, key.ID))
	if rotated.Key == key.Key {
		t.Fatal("rotate")
	}
	if _, err := reader.Datasets.List(ctx, loam.ListDatasetsParams{}).All(); kind(err) != loam.KindAuthentication {
		t.Fatalf("want 401, got %v", err)
	}
	if err := c.APIKeys.Revoke(ctx, key.ID); err != nil {
		t.Fatal(err)
	}

	pol := must(c.Policies.Create(ctx, loam.PolicyParams{Name: "pol-" + u, Policy: `forbid(principal, action, resource) when { resource.classification == "restricted" };`}))
	must(c.Policies.Get(ctx, pol.ID))
	must(c.Policies.List(ctx, 0).All())
	if p := must(c.Policies.Update(ctx, pol.ID, loam.JSON{"description": "reviewed"})); p.Version != 2 {
		t.Fatal("policy update")
	}
	if p := must(c.Policies.Replace(ctx, pol.ID, loam.PolicyParams{Name: "pol-" + u, Policy: "permit(principal, action, resource);"})); p.Effect != "permit" {
		t.Fatal("replace")
	}
	must(c.Policies.Schema(ctx))
	if _, err := c.Policies.Create(ctx, loam.PolicyParams{Name: "bad-" + u, Policy: "not cedar"}); kind(err) != loam.KindBadRequest && kind(err) != loam.KindValidation {
		t.Fatalf("want 400, got %v", err)
	}
	if err := c.Policies.Delete(ctx, pol.ID); err != nil {
		t.Fatal(err)
	}

	it := c.AuditLogs.List(ctx, loam.AuditQuery{Limit: 5})
	if !it.Next() {
		t.Fatal("no audit entries", it.Err())
	}
	must(c.AuditLogs.Get(ctx, it.Item().ID))
	if v := must(c.AuditLogs.Verify(ctx)); v["valid"] != true {
		t.Fatal("verify")
	}
	if who := must(c.Whoami(ctx)); who["kind"] != "api_key" {
		t.Fatal("whoami")
	}
	must(c.Content.Stats(ctx))
	must(c.Content.Search(ctx, "anything", 0))
	must(c.Content.CallbackSecret(ctx))
}

func TestErrorFamilies(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	_, err := c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: ""})
	var lerr *loam.Error
	if !errors.As(err, &lerr) || lerr.Kind != loam.KindValidation || lerr.Status != 400 || len(lerr.Errors) == 0 || lerr.RequestID == "" || lerr.Type == "" {
		t.Fatalf("validation: %#v", err)
	}
	name := "dup-" + unique()
	must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: name}))
	if _, err := c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: name}); kind(err) != loam.KindConflict {
		t.Fatalf("want conflict, got %v", err)
	}
	if _, err := c.Records.Get(ctx, "ds_missing", "r1", ""); kind(err) != loam.KindNotFound {
		t.Fatalf("want not found, got %v", err)
	}
	bad := loam.NewClient(loam.WithAPIKey("x"), loam.WithBaseURL("http://127.0.0.1:9"), loam.WithMaxRetries(0))
	if _, err := bad.Whoami(ctx); kind(err) != loam.KindConnection {
		t.Fatalf("want connection error, got %v", err)
	}
}

// flaky is a proxy to Loam answering the first requests from a script.
type flaky struct {
	mu     sync.Mutex
	script []step
	seen   []*http.Request
}

type step struct {
	status     int
	retryAfter string
}

func newFlaky(t *testing.T) (*flaky, *httptest.Server) {
	target, _ := url.Parse(serverURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &flaky{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Clone(context.Background()))
		var s *step
		if len(f.script) > 0 {
			s = &f.script[0]
			f.script = f.script[1:]
		}
		f.mu.Unlock()
		if s == nil {
			proxy.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(s.status)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"status": s.status, "code": "injected", "detail": "injected", "request_id": "req_proxy"})
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func TestRetries503And429(t *testing.T) {
	ctx := context.Background()
	f, srv := newFlaky(t)
	f.script = []step{{503, ""}, {429, "1"}}
	c := loam.NewClient(loam.WithAPIKey(adminKey), loam.WithBaseURL(srv.URL), loam.WithMaxRetries(2))
	name := "retry-" + unique()
	started := time.Now()
	ds := must(c.Datasets.Create(ctx, loam.CreateDatasetParams{Name: name}))
	if time.Since(started) < time.Second {
		t.Fatal("Retry-After was not honoured")
	}
	if len(f.seen) != 3 {
		t.Fatalf("want 3 attempts, got %d", len(f.seen))
	}
	k := f.seen[0].Header.Get("Idempotency-Key")
	if k == "" || f.seen[1].Header.Get("Idempotency-Key") != k || f.seen[2].Header.Get("Idempotency-Key") != k {
		t.Fatal("Idempotency-Key must be the same on every attempt")
	}
	must(newClient().Datasets.Get(ctx, ds.ID))

	f.script = []step{{429, "0"}, {429, "2"}}
	c1 := loam.NewClient(loam.WithAPIKey(adminKey), loam.WithBaseURL(srv.URL), loam.WithMaxRetries(1))
	_, err := c1.Datasets.List(ctx, loam.ListDatasetsParams{}).All()
	var lerr *loam.Error
	if !errors.As(err, &lerr) || lerr.Kind != loam.KindRateLimit || lerr.RetryAfter != 2*time.Second || lerr.RequestID != "req_proxy" {
		t.Fatalf("rate limit: %#v", err)
	}
	f.script = []step{{500, ""}}
	if _, err := loam.NewClient(loam.WithAPIKey(adminKey), loam.WithBaseURL(srv.URL), loam.WithMaxRetries(0)).Whoami(ctx); kind(err) != loam.KindInternalServer {
		t.Fatalf("want 500, got %v", err)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LOAM_API_KEY", adminKey)
	t.Setenv("LOAM_API_BASE_URL", serverURL)
	t.Setenv("LOAM_MAX_RETRIES", "0")
	c := loam.NewClient()
	if c.BaseURL != serverURL || c.MaxRetries != 0 {
		t.Fatal("environment not read")
	}
	must(c.Whoami(context.Background()))
}

// TestReadmeExample runs examples/quickstart (which the README shows verbatim) against Loam.
func TestReadmeExample(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("examples", "quickstart", "main.go"))
	readme, _ := os.ReadFile("README.md")
	if !bytes.Contains(readme, src) {
		t.Fatal("README.md must show examples/quickstart/main.go verbatim")
	}
	dir := t.TempDir()
	patched := strings.Replace(string(src), `"customer-feedback"`, `"customer-feedback-`+unique()+`"`, 1)
	_ = os.MkdirAll(filepath.Join(dir, "q"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "q", "main.go"), []byte(patched), 0o644)
	wd, _ := os.Getwd()
	gomod := "module q\n\ngo 1.19\n\nrequire loam.dev/loam-go v0.0.0\n\nreplace loam.dev/loam-go => " + wd + "\n"
	_ = os.WriteFile(filepath.Join(dir, "q", "go.mod"), []byte(gomod), 0o644)
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = filepath.Join(dir, "q")
	cmd.Env = append(os.Environ(), "LOAM_API_KEY="+adminKey, "LOAM_API_BASE_URL="+serverURL, "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "satisfied:true") {
		t.Fatalf("example failed: %v\n%s", err, out)
	}
}
