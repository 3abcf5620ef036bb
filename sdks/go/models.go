package loam

import "encoding/json"

// JSON is any JSON object.
type JSON = map[string]interface{}

// Filter is a record filter: {"age": {"$gte": 18}, "$or": [...]}.
type Filter = map[string]interface{}

type Dataset struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Description     *string           `json:"description"`
	Schema          DatasetSchema     `json:"schema"`
	Metadata        map[string]string `json:"metadata"`
	Tags            []string          `json:"tags"`
	Classification  string            `json:"classification"`
	Status          string            `json:"status"`
	Owner           *string           `json:"owner"`
	RecordCount     int               `json:"record_count"`
	DraftNumber     int               `json:"draft_number"`
	LatestVersionID *string           `json:"latest_version_id"`
	DerivedFrom     *DerivedFrom      `json:"derived_from"`
	InsertPolicy    JSON              `json:"insert_policy"`
	EncryptedFields []string          `json:"encrypted_fields"`
	ResourceVersion int               `json:"resource_version"`
	CreatedAt       string            `json:"created_at"`
	UpdatedAt       string            `json:"updated_at"`
	ArchivedAt      *string           `json:"archived_at"`
}

type DatasetSchema struct {
	Fields []SchemaField `json:"fields"`
}

type SchemaField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required,omitempty"`
	PII         string `json:"pii,omitempty"`
	Description string `json:"description,omitempty"`
}

type DerivedFrom struct {
	DatasetID string `json:"dataset_id"`
	VersionID string `json:"version_id"`
}

type DatasetVersion struct {
	ID              string        `json:"id"`
	DatasetID       string        `json:"dataset_id"`
	Number          int           `json:"number"`
	Name            *string       `json:"name"`
	Description     *string       `json:"description"`
	Tags            []string      `json:"tags"`
	Status          string        `json:"status"`
	RecordCount     int           `json:"record_count"`
	Checksum        string        `json:"checksum"`
	Schema          DatasetSchema `json:"schema"`
	ResourceVersion int           `json:"resource_version"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
	DeprecatedAt    *string       `json:"deprecated_at"`
}

type VersionDiff struct {
	From     string                       `json:"from"`
	To       string                       `json:"to"`
	Added    []string                     `json:"added"`
	Removed  []string                     `json:"removed"`
	Modified []string                     `json:"modified"`
	Changes  map[string][]json.RawMessage `json:"changes,omitempty"`
}

type Record struct {
	ID        string `json:"id"`
	Data      JSON   `json:"data"`
	Revision  int    `json:"revision"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// NewRecord is a record to insert; ID is optional (generated when empty).
type NewRecord struct {
	ID   string `json:"id,omitempty"`
	Data JSON   `json:"data"`
}

type InsertResult struct {
	Inserted int      `json:"inserted"`
	IDs      []string `json:"ids"`
}

type Job struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	RunAt       string          `json:"run_at"`
	LastError   *string         `json:"last_error"`
	Result      json.RawMessage `json:"result"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
	FinishedAt  *string         `json:"finished_at"`
}

type DatasetExport struct {
	ID          string  `json:"id"`
	DatasetID   string  `json:"dataset_id"`
	VersionID   *string `json:"version_id"`
	Format      string  `json:"format"`
	Status      string  `json:"status"`
	RecordCount int     `json:"record_count"`
	Bytes       int     `json:"bytes"`
	JobID       string  `json:"job_id"`
	DownloadURL *string `json:"download_url"`
	Error       *string `json:"error"`
	CreatedAt   string  `json:"created_at"`
	FinishedAt  *string `json:"finished_at"`
}

type DatasetImport struct {
	ID         string  `json:"id"`
	DatasetID  string  `json:"dataset_id"`
	Format     string  `json:"format"`
	Status     string  `json:"status"`
	Total      int     `json:"total"`
	Processed  int     `json:"processed"`
	Failed     int     `json:"failed"`
	JobID      string  `json:"job_id"`
	Error      *string `json:"error"`
	CreatedAt  string  `json:"created_at"`
	FinishedAt *string `json:"finished_at"`
}

type ImportError struct {
	Line    int     `json:"line"`
	Field   *string `json:"field"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
}

type DatasetIndex struct {
	ID        string `json:"id"`
	Field     string `json:"field"`
	CreatedAt string `json:"created_at"`
}

type APIKey struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	Roles      []string `json:"roles"`
	TenantID   string   `json:"tenant_id"`
	CreatedBy  *string  `json:"created_by"`
	CreatedAt  string   `json:"created_at"`
	ExpiresAt  *string  `json:"expires_at"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
	// Key is the secret: only in the answers of Create and Rotate.
	Key string `json:"key,omitempty"`
}

type Policy struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Effect      string  `json:"effect"`
	Policy      string  `json:"policy"`
	Version     int     `json:"version"`
	TenantID    string  `json:"tenant_id"`
	CreatedBy   *string `json:"created_by"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

type AuditEntry struct {
	ID           string   `json:"id"`
	Seq          int      `json:"seq"`
	EventID      string   `json:"event_id"`
	Time         string   `json:"time"`
	Action       string   `json:"action"`
	Actor        *string  `json:"actor"`
	ActorKind    *string  `json:"actor_kind"`
	ResourceType *string  `json:"resource_type"`
	ResourceID   *string  `json:"resource_id"`
	IP           *string  `json:"ip"`
	Decision     string   `json:"decision"`
	PolicyIDs    []string `json:"policy_ids"`
	Reason       *string  `json:"reason"`
	Details      JSON     `json:"details"`
	TenantID     string   `json:"tenant_id"`
	PrevHash     string   `json:"prev_hash"`
	Hash         string   `json:"hash"`
}

type Recognizer struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	EntityType string   `json:"entity_type"`
	Patterns   []JSON   `json:"patterns"`
	Context    []string `json:"context"`
	Enabled    bool     `json:"enabled"`
	CreatedAt  string   `json:"created_at"`
	UpdatedAt  string   `json:"updated_at"`
}
