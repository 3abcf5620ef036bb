package loam

import (
	"context"
	"net/http"
)

// DatasetsService: private datasets (/api/v1/datasets).
type DatasetsService struct{ c *Client }

// CreateDatasetParams is the body of Datasets.Create.
type CreateDatasetParams struct {
	Name           string            `json:"name"`
	Description    string            `json:"description,omitempty"`
	Schema         *DatasetSchema    `json:"schema,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	Tags           []string          `json:"tags,omitempty"`
	Classification string            `json:"classification,omitempty"`
	InsertPolicy   JSON              `json:"insert_policy,omitempty"`
	DerivedFrom    *DerivedFrom      `json:"derived_from,omitempty"`
}

// ListDatasetsParams filters Datasets.List.
type ListDatasetsParams struct {
	Status, Tag, Classification string
	Limit                       int
	Count                       bool
}

func (s *DatasetsService) Create(ctx context.Context, params CreateDatasetParams) (*Dataset, error) {
	var out Dataset
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/datasets", &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *DatasetsService) List(ctx context.Context, params ListDatasetsParams) *Iter[Dataset] {
	q := query("status", params.Status, "tag", params.Tag, "classification", params.Classification, "limit", itoa(params.Limit), "count", btoa(params.Count))
	return listGet[Dataset](ctx, s.c, "/api/v1/datasets", q)
}

func (s *DatasetsService) Get(ctx context.Context, id string) (*Dataset, error) {
	var out Dataset
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s", id), nil, &out)
	return ret(&out, err)
}

// Update changes the keys given (name, description, schema, metadata, tags, classification, insert_policy).
func (s *DatasetsService) Update(ctx context.Context, id string, changes JSON) (*Dataset, error) {
	var out Dataset
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/datasets/%s", id), &RequestOptions{Body: changes}, &out)
	return ret(&out, err)
}

func (s *DatasetsService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/datasets/%s", id), nil, nil)
	return err
}

func (s *DatasetsService) Archive(ctx context.Context, id string) (*Dataset, error) {
	var out Dataset
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/archive", id), &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

func (s *DatasetsService) Restore(ctx context.Context, id string) (*Dataset, error) {
	var out Dataset
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/restore", id), &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

// Stats: record count, bytes and per-field statistics (version "" = the working draft).
func (s *DatasetsService) Stats(ctx context.Context, id, version string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/stats", id), &RequestOptions{Query: query("version", version)}, &out)
	return out, err
}

func (s *DatasetsService) Lineage(ctx context.Context, id string) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/lineage", id), nil, &out)
	return out, err
}

// AnonymizeDatasetParams is the body of Datasets.Anonymize.
type AnonymizeDatasetParams struct {
	Policy  JSON   `json:"policy"`
	Version string `json:"version,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Anonymize anonymizes a version into a new derived dataset; answers the job (Jobs.Wait it).
func (s *DatasetsService) Anonymize(ctx context.Context, id string, params AnonymizeDatasetParams) (*Job, error) {
	var out Job
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/anonymize", id), &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

// Aggregate runs a differentially private aggregate charged to the dataset's ε budget.
func (s *DatasetsService) Aggregate(ctx context.Context, id string, queryBody JSON, version string) (JSON, error) {
	body := JSON{"query": queryBody}
	if version != "" {
		body["version"] = version
	}
	var out JSON
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/aggregate", id), &RequestOptions{Body: body}, &out)
	return out, err
}

func (s *DatasetsService) CreateIndex(ctx context.Context, id, field string) (*DatasetIndex, error) {
	var out DatasetIndex
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/indexes", id), &RequestOptions{Body: JSON{"field": field}}, &out)
	return ret(&out, err)
}

func (s *DatasetsService) ListIndexes(ctx context.Context, id string) ([]DatasetIndex, error) {
	var out []DatasetIndex
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/indexes", id), nil, &out)
	return out, err
}

func (s *DatasetsService) DeleteIndex(ctx context.Context, id, indexID string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/datasets/%s/indexes/%s", id, indexID), nil, nil)
	return err
}

func ret[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// VersionsService: immutable dataset versions (/api/v1/datasets/{id}/versions).
type VersionsService struct{ c *Client }

// CreateVersionParams is the body of Versions.Create.
type CreateVersionParams struct {
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Draft       bool     `json:"draft,omitempty"` // a draft version, finalized later by Finalize
}

// Finalize closes a draft version: its record count and checksum are fixed.
func (s *VersionsService) Finalize(ctx context.Context, datasetID, versionID string) (*DatasetVersion, error) {
	var out DatasetVersion
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/versions/%s/finalize", datasetID, versionID), &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

// Create finalizes the working draft into an immutable version.
func (s *VersionsService) Create(ctx context.Context, datasetID string, params CreateVersionParams) (*DatasetVersion, error) {
	var out DatasetVersion
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/versions", datasetID), &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

func (s *VersionsService) List(ctx context.Context, datasetID string, limit int) *Iter[DatasetVersion] {
	return listGet[DatasetVersion](ctx, s.c, p("/api/v1/datasets/%s/versions", datasetID), query("limit", itoa(limit)))
}

func (s *VersionsService) Get(ctx context.Context, datasetID, versionID string) (*DatasetVersion, error) {
	var out DatasetVersion
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/versions/%s", datasetID, versionID), nil, &out)
	return ret(&out, err)
}

// Update changes the description and/or tags.
func (s *VersionsService) Update(ctx context.Context, datasetID, versionID string, changes JSON) (*DatasetVersion, error) {
	var out DatasetVersion
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/datasets/%s/versions/%s", datasetID, versionID), &RequestOptions{Body: changes}, &out)
	return ret(&out, err)
}

func (s *VersionsService) Delete(ctx context.Context, datasetID, versionID string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/datasets/%s/versions/%s", datasetID, versionID), nil, nil)
	return err
}

func (s *VersionsService) Deprecate(ctx context.Context, datasetID, versionID string) (*DatasetVersion, error) {
	var out DatasetVersion
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/datasets/%s/versions/%s/deprecate", datasetID, versionID), &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

// Diff lists record ids added, removed and modified between two versions ("draft" = the working draft).
func (s *VersionsService) Diff(ctx context.Context, datasetID, versionID, otherVersionID string, fields bool) (*VersionDiff, error) {
	var out VersionDiff
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/datasets/%s/versions/%s/diff/%s", datasetID, versionID, otherVersionID),
		&RequestOptions{Query: query("fields", btoa(fields))}, &out)
	return ret(&out, err)
}
