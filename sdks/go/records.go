package loam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxRecordsPerCall is the server's per-call limit: larger inserts are split into calls of this size.
const MaxRecordsPerCall = 10000

// RecordsService: records of a dataset (/api/v1/datasets/{id}/records).
type RecordsService struct{ c *Client }

// InsertMany inserts any number of records in atomic calls of at most ChunkSize (≤ 10,000), each
// with its own Idempotency-Key so a retried call never inserts twice.
func (s *RecordsService) InsertMany(ctx context.Context, datasetID string, records []NewRecord) (*InsertResult, error) {
	return s.InsertManyChunked(ctx, datasetID, records, MaxRecordsPerCall)
}

// InsertManyChunked is InsertMany with a chosen call size.
func (s *RecordsService) InsertManyChunked(ctx context.Context, datasetID string, records []NewRecord, chunkSize int) (*InsertResult, error) {
	if chunkSize < 1 || chunkSize > MaxRecordsPerCall {
		chunkSize = MaxRecordsPerCall
	}
	total := &InsertResult{IDs: []string{}}
	for i := 0; i < len(records); i += chunkSize {
		end := i + chunkSize
		if end > len(records) {
			end = len(records)
		}
		var done InsertResult
		if _, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/records", datasetID), &RequestOptions{Body: records[i:end]}, &done); err != nil {
			return total, err
		}
		total.Inserted += done.Inserted
		total.IDs = append(total.IDs, done.IDs...)
	}
	return total, nil
}

func (s *RecordsService) Get(ctx context.Context, datasetID, recordID, version string) (*Record, error) {
	var out Record
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/records/%s", datasetID, recordID), &RequestOptions{Query: query("version", version)}, &out)
	return ret(&out, err)
}

// Update merges data into the record (a nil value removes a field); ifMatch ("" = none) fails with 412 on a concurrent change.
func (s *RecordsService) Update(ctx context.Context, datasetID, recordID string, data JSON, ifMatch string) (*Record, error) {
	var out Record
	o := &RequestOptions{Body: JSON{"data": data}}
	if ifMatch != "" {
		o.Header = http.Header{"If-Match": {ifMatch}}
	}
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/datasets/%s/records/%s", datasetID, recordID), o, &out)
	return ret(&out, err)
}

func (s *RecordsService) Delete(ctx context.Context, datasetID, recordID string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/datasets/%s/records/%s", datasetID, recordID), nil, nil)
	return err
}

// RecordQuery selects records: a $-filter, a sort (`field` / `-field`), projected fields, a version; Limit is the page size.
type RecordQuery struct {
	Filter  Filter
	Sort    string
	Fields  []string
	Version string
	Limit   int
	Count   bool
}

func (q RecordQuery) body() map[string]interface{} {
	b := map[string]interface{}{}
	if q.Filter != nil {
		b["filter"] = q.Filter
	}
	if q.Sort != "" {
		b["sort"] = q.Sort
	}
	if len(q.Fields) > 0 {
		b["fields"] = q.Fields
	}
	if q.Version != "" {
		b["version"] = q.Version
	}
	if q.Limit > 0 {
		b["limit"] = q.Limit
	}
	if q.Count {
		b["count"] = true
	}
	return b
}

// Query runs POST …/records/query and walks every matching record, page by page.
func (s *RecordsService) Query(ctx context.Context, datasetID string, q RecordQuery) *Iter[Record] {
	return listPost[Record](ctx, s.c, p("/api/v1/datasets/%s/records/query", datasetID), q.body())
}

// Iterate is Query (the name the other SDKs use for walking every match).
func (s *RecordsService) Iterate(ctx context.Context, datasetID string, q RecordQuery) *Iter[Record] {
	return s.Query(ctx, datasetID, q)
}

// Stream calls fn for every matching record (a callback stream); fn's error stops it.
func (s *RecordsService) Stream(ctx context.Context, datasetID string, q RecordQuery, fn func(Record) error) error {
	return s.Query(ctx, datasetID, q).Each(fn)
}

// List runs GET …/records?filter=<json>.
func (s *RecordsService) List(ctx context.Context, datasetID string, q RecordQuery) *Iter[Record] {
	qs := query("sort", q.Sort, "fields", strings.Join(q.Fields, ","), "version", q.Version, "limit", itoa(q.Limit), "count", btoa(q.Count))
	if q.Filter != nil {
		b, _ := json.Marshal(q.Filter)
		qs.Set("filter", string(b))
	}
	return listGet[Record](ctx, s.c, p("/api/v1/datasets/%s/records", datasetID), qs)
}

// ExportParams is the body of Records.Export.
type ExportParams struct {
	Format  string `json:"format,omitempty"` // ndjson (default), csv, json
	Version string `json:"version,omitempty"`
	Filter  Filter `json:"filter,omitempty"`
}

// ExportJob is what Records.Export answers: the job and the export it writes.
type ExportJob struct {
	Job      Job
	ExportID string
}

func (s *RecordsService) Export(ctx context.Context, datasetID string, params ExportParams) (*ExportJob, error) {
	var job Job
	env, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/records/export", datasetID), &RequestOptions{Body: params}, &job)
	if err != nil {
		return nil, err
	}
	id, err := lastSegment(env.Links["export"], "export")
	if err != nil {
		return nil, err
	}
	return &ExportJob{Job: job, ExportID: id}, nil
}

func (s *RecordsService) GetExport(ctx context.Context, exportID string) (*DatasetExport, error) {
	var out DatasetExport
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/exports/%s", exportID), nil, &out)
	return ret(&out, err)
}

// DownloadExport streams the bytes of a finished export; close the reader.
func (s *RecordsService) DownloadExport(ctx context.Context, exportID string) (io.ReadCloser, error) {
	res, err := s.c.Do(ctx, http.MethodGet, p("/api/v1/exports/%s/download", exportID), &RequestOptions{Header: http.Header{"Accept": {"*/*"}}})
	if err != nil {
		return nil, err
	}
	return res.Body, nil
}

// Download exports, waits for the file and streams its bytes; close the reader.
func (s *RecordsService) Download(ctx context.Context, datasetID string, params ExportParams) (io.ReadCloser, error) {
	exp, err := s.Export(ctx, datasetID, params)
	if err != nil {
		return nil, err
	}
	if _, err := s.c.Jobs.Wait(ctx, exp.Job.ID); err != nil {
		return nil, err
	}
	return s.DownloadExport(ctx, exp.ExportID)
}

// ImportParams tunes Records.Import.
type ImportParams struct {
	Format  string // ndjson (default) or csv
	IDField string // the key/column holding record ids (default `id`)
}

// ImportJob is what Records.Import answers: the job and the import it runs.
type ImportJob struct {
	Job      Job
	ImportID string
}

// Import sends an NDJSON or CSV file (read from r) as an import job.
func (s *RecordsService) Import(ctx context.Context, datasetID string, r io.Reader, params ImportParams) (*ImportJob, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	ctype := "application/x-ndjson"
	if params.Format == "csv" {
		ctype = "text/csv"
	}
	var job Job
	env, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/records/import", datasetID),
		&RequestOptions{RawBody: data, ContentType: ctype, Query: query("id_field", params.IDField)}, &job)
	if err != nil {
		return nil, err
	}
	id, err := lastSegment(env.Links["import"], "import")
	if err != nil {
		return nil, err
	}
	return &ImportJob{Job: job, ImportID: id}, nil
}

// ImportAndWait imports and polls until the import has finished.
func (s *RecordsService) ImportAndWait(ctx context.Context, datasetID string, r io.Reader, params ImportParams) (*DatasetImport, error) {
	started, err := s.Import(ctx, datasetID, r, params)
	if err != nil {
		return nil, err
	}
	for {
		imp, err := s.GetImport(ctx, datasetID, started.ImportID)
		if err != nil {
			return nil, err
		}
		switch imp.Status {
		case "succeeded":
			return imp, nil
		case "failed":
			msg := "unknown error"
			if imp.Error != nil {
				msg = *imp.Error
			}
			return imp, &Error{Kind: KindJobFailed, Detail: fmt.Sprintf("import %s failed: %s", imp.ID, msg)}
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func (s *RecordsService) GetImport(ctx context.Context, datasetID, importID string) (*DatasetImport, error) {
	var out DatasetImport
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/imports/%s", datasetID, importID), nil, &out)
	return ret(&out, err)
}

// ImportErrors walks the per-line errors of an import.
func (s *RecordsService) ImportErrors(ctx context.Context, datasetID, importID string, limit int) *Iter[ImportError] {
	return listGet[ImportError](ctx, s.c, p("/api/v1/datasets/%s/imports/%s/errors", datasetID, importID), query("limit", itoa(limit)))
}

func lastSegment(link, what string) (string, error) {
	link = strings.SplitN(link, "?", 2)[0]
	parts := strings.Split(strings.TrimRight(link, "/"), "/")
	if link == "" || parts[len(parts)-1] == "" {
		return "", errors.New("loam: the server did not say where the " + what + " is")
	}
	return parts[len(parts)-1], nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
