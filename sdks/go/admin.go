package loam

import (
	"context"
	"net/http"
)

// User is a user as administrators see it (/api/v1/admin/users).
type User struct {
	ID          string            `json:"id"`
	TenantID    string            `json:"tenant_id"`
	Email       string            `json:"email"`
	Status      string            `json:"status"`
	Roles       []string          `json:"roles"`
	Attributes  map[string]string `json:"attributes"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	ConfirmedAt *string           `json:"confirmed_at"`
}

// UpdateUserParams is the body of Admin.Users.Update: keys set are applied (Roles and Attributes replace).
type UpdateUserParams struct {
	Roles      []string          `json:"roles,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Status     string            `json:"status,omitempty"` // "confirmed" or "disabled"
}

// SigningKey is the public metadata of a token signing key.
type SigningKey struct {
	Kid       string  `json:"kid"`
	Alg       string  `json:"alg"`
	CreatedAt string  `json:"created_at"`
	RetiredAt *string `json:"retired_at"`
}

// MailboxMessage is a mail of the development mailbox.
type MailboxMessage struct {
	ID        string `json:"id"`
	TenantID  string `json:"tenant_id"`
	To        string `json:"to"`
	Subject   string `json:"subject"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}

// KeyRotationResult answers Admin.RotateMasterKey.
type KeyRotationResult struct {
	Provider  string `json:"provider"`
	Rewrapped int    `json:"rewrapped"`
}

// AdminService: operator tasks (/api/v1/admin/..., scope admin): users, signing keys, the development
// mailbox, health and master-key rotation.
type AdminService struct {
	c           *Client
	Users       *UsersService
	SigningKeys *SigningKeysService
	Mailbox     *MailboxService
}

// Health lists the components (database, Redis, jobs, events) with their versions and latency.
func (s *AdminService) Health(ctx context.Context) (JSON, error) {
	var out JSON
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/admin/health", nil, &out)
	return out, err
}

// RotateMasterKey re-wraps every data key under the current master key (records are not rewritten).
func (s *AdminService) RotateMasterKey(ctx context.Context) (*KeyRotationResult, error) {
	var out KeyRotationResult
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/admin/keys/rotate", &RequestOptions{Body: JSON{}}, &out)
	return ret(&out, err)
}

// UsersService: the users of the caller's tenant (a platform admin names another with tenantID).
type UsersService struct{ c *Client }

func (s *UsersService) List(ctx context.Context, limit int, tenantID string) *Iter[User] {
	return listGet[User](ctx, s.c, "/api/v1/admin/users", query("limit", itoa(limit), "tenant_id", tenantID))
}

func (s *UsersService) Get(ctx context.Context, id string) (*User, error) {
	var out User
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/admin/users/%s", id), nil, &out)
	return ret(&out, err)
}

// Update sets roles, attributes or status; it ends the user's sessions.
func (s *UsersService) Update(ctx context.Context, id string, params UpdateUserParams) (*User, error) {
	var out User
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/admin/users/%s", id), &RequestOptions{Body: params}, &out)
	return ret(&out, err)
}

// SigningKeysService: the keys access tokens are signed with (public metadata only).
type SigningKeysService struct{ c *Client }

func (s *SigningKeysService) List(ctx context.Context) ([]SigningKey, error) {
	var out []SigningKey
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/admin/signing-keys", nil, &out)
	return out, err
}

// Rotate signs with a new key from now on; the old one verifies until its tokens expire (a conflict with HS256).
func (s *SigningKeysService) Rotate(ctx context.Context) ([]SigningKey, error) {
	var out []SigningKey
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/admin/signing-keys/rotate", &RequestOptions{Body: JSON{}}, &out)
	return out, err
}

// MailboxService: the development mailbox, mail Loam would have sent (not found with SMTP or in production).
type MailboxService struct{ c *Client }

// List answers the newest messages first; to, limit and tenantID may be empty/zero.
func (s *MailboxService) List(ctx context.Context, to string, limit int, tenantID string) ([]MailboxMessage, error) {
	var out []MailboxMessage
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/admin/mailbox", &RequestOptions{Query: query("to", to, "limit", itoa(limit), "tenant_id", tenantID)}, &out)
	return out, err
}
