package loam

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// JobsService: asynchronous work (/api/v1/jobs/{id}).
type JobsService struct{ c *Client }

func (s *JobsService) Get(ctx context.Context, id string) (*Job, error) {
	var out Job
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/jobs/%s", id), nil, &out)
	return ret(&out, err)
}

// Wait polls until the job succeeds (returns it) or dies (a *Error of KindJobFailed). Bound it with ctx.
func (s *JobsService) Wait(ctx context.Context, id string) (*Job, error) {
	for {
		job, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		switch job.Status {
		case "succeeded":
			return job, nil
		case "dead":
			msg := "unknown error"
			if job.LastError != nil {
				msg = *job.LastError
			}
			return job, &Error{Kind: KindJobFailed, Detail: fmt.Sprintf("job %s (%s) failed: %s", job.ID, job.Kind, msg)}
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// AnonymizationService: PII detection, anonymization, privacy models (/api/v1/anonymization/*).
// Request bodies are the server's JSON (see docs/privacy.md).
type AnonymizationService struct {
	c           *Client
	Recognizers *RecognizersService
}

func (s *AnonymizationService) post(ctx context.Context, sub string, body JSON) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/anonymization"+sub, &RequestOptions{Body: body}, &out)
	return out, err
}

// Analyze finds PII in `text`, a `document` or `records`.
func (s *AnonymizationService) Analyze(ctx context.Context, body JSON) (JSON, error) {
	return s.post(ctx, "/analyze", body)
}

// Anonymize masks, replaces, hashes … the PII found; `records` + `privacy_model` k-anonymizes a table.
func (s *AnonymizationService) Anonymize(ctx context.Context, body JSON) (JSON, error) {
	return s.post(ctx, "/anonymize", body)
}

func (s *AnonymizationService) Deanonymize(ctx context.Context, body JSON) (JSON, error) {
	return s.post(ctx, "/deanonymize", body)
}

// Validate measures k-anonymity, ℓ-diversity, re-identification risk and residual PII.
func (s *AnonymizationService) Validate(ctx context.Context, body JSON) (JSON, error) {
	return s.post(ctx, "/validate", body)
}

// Aggregate runs a differentially private count, sum, mean or histogram charged to an ε budget.
func (s *AnonymizationService) Aggregate(ctx context.Context, body JSON) (JSON, error) {
	return s.post(ctx, "/aggregate", body)
}

func (s *AnonymizationService) Techniques(ctx context.Context) ([]JSON, error) {
	var out []JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/anonymization/techniques", nil, &out)
	return out, err
}

func (s *AnonymizationService) Budget(ctx context.Context, subject string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/anonymization/budgets/%s", subject), nil, &out)
	return out, err
}

func (s *AnonymizationService) SetBudget(ctx context.Context, subject string, epsilonTotal float64) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPut, p("/api/v1/anonymization/budgets/%s", subject), &RequestOptions{Body: JSON{"epsilon_total": epsilonTotal}}, &out)
	return out, err
}

func (s *AnonymizationService) Metrics(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/anonymization/metrics", nil, &out)
	return out, err
}

// RecognizersService: tenant-defined PII recognizers.
type RecognizersService struct{ c *Client }

func (s *RecognizersService) List(ctx context.Context) ([]Recognizer, error) {
	var out []Recognizer
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/anonymization/recognizers", nil, &out)
	return out, err
}

// Create takes {name, entity_type, patterns: [{regex, score}], context?}.
func (s *RecognizersService) Create(ctx context.Context, body JSON) (*Recognizer, error) {
	var out Recognizer
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/anonymization/recognizers", &RequestOptions{Body: body}, &out)
	return ret(&out, err)
}

func (s *RecognizersService) Get(ctx context.Context, id string) (*Recognizer, error) {
	var out Recognizer
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/anonymization/recognizers/%s", id), nil, &out)
	return ret(&out, err)
}

func (s *RecognizersService) Update(ctx context.Context, id string, changes JSON) (*Recognizer, error) {
	var out Recognizer
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/anonymization/recognizers/%s", id), &RequestOptions{Body: changes}, &out)
	return ret(&out, err)
}

func (s *RecognizersService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/anonymization/recognizers/%s", id), nil, nil)
	return err
}

// APIKeysService: tenant API keys (/api/v1/api-keys).
type APIKeysService struct{ c *Client }

// CreateAPIKeyParams is the body of APIKeys.Create.
type CreateAPIKeyParams struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Roles     []string `json:"roles,omitempty"`
	ExpiresAt string   `json:"expires_at,omitempty"`
}

// Create makes a key; its secret (Key) is returned this once.
func (s *APIKeysService) Create(ctx context.Context, params CreateAPIKeyParams) (*APIKey, error) {
	if params.Scopes == nil {
		params.Scopes = []string{}
	}
	var out APIKey
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/api-keys", &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *APIKeysService) List(ctx context.Context, limit int) *Iter[APIKey] {
	return listGet[APIKey](ctx, s.c, "/api/v1/api-keys", query("limit", itoa(limit)))
}

func (s *APIKeysService) Get(ctx context.Context, id string) (*APIKey, error) {
	var out APIKey
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/api-keys/%s", id), nil, &out)
	return ret(&out, err)
}

func (s *APIKeysService) Revoke(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/api-keys/%s", id), nil, nil)
	return err
}

// Rotate replaces the secret (the old one stops working).
func (s *APIKeysService) Rotate(ctx context.Context, id string) (*APIKey, error) {
	var out APIKey
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/api-keys/%s/rotate", id), nil, &out)
	return ret(&out, err)
}

// PoliciesService: Cedar access policies (/api/v1/admin/policies).
type PoliciesService struct{ c *Client }

// PolicyParams is the body of Policies.Create and Policies.Replace.
type PolicyParams struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Policy      string `json:"policy"`
}

func (s *PoliciesService) Create(ctx context.Context, params PolicyParams) (*Policy, error) {
	var out Policy
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/admin/policies", &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *PoliciesService) List(ctx context.Context, limit int) *Iter[Policy] {
	return listGet[Policy](ctx, s.c, "/api/v1/admin/policies", query("limit", itoa(limit)))
}

func (s *PoliciesService) Get(ctx context.Context, id string) (*Policy, error) {
	var out Policy
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/admin/policies/%s", id), nil, &out)
	return ret(&out, err)
}

// Update changes only the keys given (name, description, policy).
func (s *PoliciesService) Update(ctx context.Context, id string, changes JSON) (*Policy, error) {
	var out Policy
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/admin/policies/%s", id), &RequestOptions{Body: changes}, &out)
	return ret(&out, err)
}

func (s *PoliciesService) Replace(ctx context.Context, id string, params PolicyParams) (*Policy, error) {
	var out Policy
	_, err := s.c.call(ctx, http.MethodPut, p("/api/v1/admin/policies/%s", id), &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *PoliciesService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/admin/policies/%s", id), nil, nil)
	return err
}

// Schema is the Cedar schema policies are checked against.
func (s *PoliciesService) Schema(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/admin/policies/schema", nil, &out)
	return out, err
}

// AuditLogsService: the append-only, hash-chained audit log (/api/v1/admin/audit-logs).
type AuditLogsService struct{ c *Client }

// AuditQuery filters AuditLogs.List.
type AuditQuery struct {
	Actor, Action, ResourceType, ResourceID, Decision, From, To string
	Limit                                                       int
}

func (s *AuditLogsService) List(ctx context.Context, q AuditQuery) *Iter[AuditEntry] {
	return listGet[AuditEntry](ctx, s.c, "/api/v1/admin/audit-logs", query("actor", q.Actor, "action", q.Action,
		"resource_type", q.ResourceType, "resource_id", q.ResourceID, "decision", q.Decision, "from", q.From, "to", q.To, "limit", itoa(q.Limit)))
}

func (s *AuditLogsService) Get(ctx context.Context, id string) (*AuditEntry, error) {
	var out AuditEntry
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/admin/audit-logs/%s", id), nil, &out)
	return ret(&out, err)
}

// Verify re-computes the hash chain: {valid, checked, first_broken?}.
func (s *AuditLogsService) Verify(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/admin/audit-logs/verify", &RequestOptions{Body: JSON{}}, &out)
	return out, err
}

// ContentService: the /api/v1 parts of content.
type ContentService struct{ c *Client }

func (s *ContentService) Stats(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/content/stats", nil, &out)
	return out, err
}

func (s *ContentService) Search(ctx context.Context, q string, limit int) ([]JSON, error) {
	var out []JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/content/search", &RequestOptions{Query: query("q", q, "limit", itoa(limit))}, &out)
	return out, err
}

func (s *ContentService) CallbackSecret(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/content/callback-secret", nil, &out)
	return out, err
}
