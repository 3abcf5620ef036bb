package loam

import (
	"context"
	"net/http"
)

// TenantsService: tenants, for platform operators (/api/v1/admin/tenants; platform admins only).
type TenantsService struct{ c *Client }

// TenantParams is the body of Tenants.Create.
type TenantParams struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Tier   string `json:"tier,omitempty"`
	Quotas JSON   `json:"quotas,omitempty"`
}

func (s *TenantsService) Create(ctx context.Context, params TenantParams) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/admin/tenants", &RequestOptions{Body: params}, &out)
	return out, err
}

func (s *TenantsService) List(ctx context.Context, limit int) *Iter[JSON] {
	return listGet[JSON](ctx, s.c, "/api/v1/admin/tenants", query("limit", itoa(limit)))
}

func (s *TenantsService) Get(ctx context.Context, id string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/admin/tenants/%s", id), nil, &out)
	return out, err
}

// Update changes name, tier, quotas (merged; null lifts one) or status ("suspended" / "active").
func (s *TenantsService) Update(ctx context.Context, id string, changes JSON) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/admin/tenants/%s", id), &RequestOptions{Body: changes}, &out)
	return out, err
}

// Erase starts the erasure job; Jobs.Get(job_id) reports what it removed.
func (s *TenantsService) Erase(ctx context.Context, id string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/admin/tenants/%s", id), nil, &out)
	return out, err
}

// Usage reports requests, tokens and anonymizations per day, and what the tenant holds.
func (s *TenantsService) Usage(ctx context.Context, id string, days int) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/admin/tenants/%s/usage", id), &RequestOptions{Query: query("days", itoa(days))}, &out)
	return out, err
}

// GovernanceService: compliance reports and policy evaluation.
type GovernanceService struct{ c *Client }

// ComplianceReport returns the controls of reportType (GDPR, HIPAA, SOC2) with status, evidence and remediation.
func (s *GovernanceService) ComplianceReport(ctx context.Context, reportType, datasetID string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/governance/compliance-report", &RequestOptions{Query: query("report_type", reportType, "dataset_id", datasetID)}, &out)
	return out, err
}

// Evaluate returns the decision the access check would make for request ({subject?, resource, action, context?}).
func (s *GovernanceService) Evaluate(ctx context.Context, request JSON) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/policies/evaluate", &RequestOptions{Body: request}, &out)
	return out, err
}

// Catalog searches the datasets you may read by name, description, tag or field name (query may be empty).
func (s *GovernanceService) Catalog(ctx context.Context, q string, limit int) ([]JSON, error) {
	var out []JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/catalog/datasets", &RequestOptions{Query: query("query", q, "limit", itoa(limit))}, &out)
	return out, err
}

// AnonymizationRequirements returns the required techniques and PII fields of a dataset; request is {dataset_id, record_schema?}.
func (s *GovernanceService) AnonymizationRequirements(ctx context.Context, request JSON) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/policies/anonymization-requirements", &RequestOptions{Body: request}, &out)
	return out, err
}

// RecordEvent records a custom analytics event ({type, subject?, value?, properties?, time?}) in your tenant.
func (s *GovernanceService) RecordEvent(ctx context.Context, event JSON) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/analytics/events", &RequestOptions{Body: event}, &out)
	return out, err
}

// ListEvents lists your tenant's analytics events of eventType and subject (either may be empty).
func (s *GovernanceService) ListEvents(ctx context.Context, eventType, subject string, limit int) *Iter[JSON] {
	return listGet[JSON](ctx, s.c, "/api/v1/analytics/events", query("type", eventType, "subject", subject, "limit", itoa(limit)))
}

// Metrics returns the instance's operational metrics as JSON (platform admins).
func (s *GovernanceService) Metrics(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/admin/metrics", nil, &out)
	return out, err
}
