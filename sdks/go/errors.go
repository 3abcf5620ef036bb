package loam

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error kinds, one per error family; compare with Error.Kind or use the Is* helpers.
const (
	KindBadRequest         = "bad_request"
	KindValidation         = "validation"
	KindAuthentication     = "authentication"
	KindPermissionDenied   = "permission_denied"
	KindNotFound           = "not_found"
	KindConflict           = "conflict"
	KindPreconditionFailed = "precondition_failed"
	KindRateLimit          = "rate_limit"
	KindInternalServer     = "internal_server"
	KindConnection         = "connection"
	KindTimeout            = "timeout"
	KindJobFailed          = "job_failed"
	KindOther              = "api"
)

// FieldError is one invalid field of a request (problem+json `errors`).
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is every error the client returns for a failed call: a server answer (Status > 0,
// with the RFC 7807 problem fields) or a transport failure (Status 0). Use errors.As:
//
//	var lerr *loam.Error
//	if errors.As(err, &lerr) && lerr.Kind == loam.KindNotFound { ... }
type Error struct {
	Kind      string
	Status    int
	Code      string
	Detail    string
	Title     string
	Type      string
	Instance  string
	RequestID string
	Errors    []FieldError
	// RetryAfter is the pause the server asked for (429), zero when it named none.
	RetryAfter time.Duration
	Header     http.Header
	Body       []byte
	Err        error
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("loam: %s: %s", e.Kind, e.Detail)
	}
	s := fmt.Sprintf("loam: %d %s: %s", e.Status, e.Code, e.Detail)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a 404 from Loam.
func IsNotFound(err error) bool { return kindOf(err) == KindNotFound }

// IsRateLimited reports whether err is a 429 from Loam.
func IsRateLimited(err error) bool { return kindOf(err) == KindRateLimit }

func kindOf(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Kind
	}
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return kindOf(u.Unwrap())
	}
	return ""
}

type problem struct {
	Type             string       `json:"type"`
	Title            string       `json:"title"`
	Detail           string       `json:"detail"`
	Instance         string       `json:"instance"`
	Code             string       `json:"code"`
	RequestID        string       `json:"request_id"`
	Errors           []FieldError `json:"errors"`
	RetryAfter       *float64     `json:"retry_after"`
	Error            string       `json:"error"`
	ErrorDescription string       `json:"error_description"`
}

func errorFromResponse(status int, header http.Header, body []byte) *Error {
	var p problem
	_ = jsonUnmarshal(body, &p)
	e := &Error{Status: status, Header: header, Body: body, Type: p.Type, Title: p.Title, Instance: p.Instance, Errors: p.Errors}
	e.Code = firstNonEmpty(p.Code, p.Error, statusCode(status))
	e.Detail = firstNonEmpty(p.Detail, p.ErrorDescription, p.Title, string(body), fmt.Sprintf("HTTP %d", status))
	e.RequestID = firstNonEmpty(p.RequestID, header.Get("X-Request-Id"))
	if d, ok := parseRetryAfter(header.Get("Retry-After")); ok {
		e.RetryAfter = d
	} else if p.RetryAfter != nil {
		e.RetryAfter = time.Duration(*p.RetryAfter * float64(time.Second))
	}
	switch {
	case status == 400 || status == 422:
		if len(p.Errors) > 0 || e.Code == "validation_error" {
			e.Kind = KindValidation
		} else {
			e.Kind = KindBadRequest
		}
	case status == 401:
		e.Kind = KindAuthentication
	case status == 403:
		e.Kind = KindPermissionDenied
	case status == 404:
		e.Kind = KindNotFound
	case status == 409:
		e.Kind = KindConflict
	case status == 412:
		e.Kind = KindPreconditionFailed
	case status == 429:
		e.Kind = KindRateLimit
	case status >= 500:
		e.Kind = KindInternalServer
	default:
		e.Kind = KindOther
	}
	return e
}

func statusCode(status int) string {
	switch {
	case status == 429:
		return "rate_limited"
	case status >= 500:
		return "internal_error"
	}
	return "unknown_error"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 {
			s = 0
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
