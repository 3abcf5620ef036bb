package loam

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CollectionsService manages knowledge bases (/api/v1/collections).
type CollectionsService struct{ c *Client }

// DocumentsService manages the documents of knowledge bases (/api/v1/documents).
type DocumentsService struct{ c *Client }

// KnowledgeService searches knowledge bases, answers questions with citations and embeds texts.
type KnowledgeService struct{ c *Client }

// KbDocument is a document and the state of its workflow (awaiting_upload → uploaded → processing → indexed | failed).
type KbDocument struct {
	ID           string                 `json:"id"`
	CollectionID string                 `json:"collection_id"`
	Filename     string                 `json:"filename"`
	ContentType  string                 `json:"content_type"`
	Size         *int64                 `json:"size"`
	Status       string                 `json:"status"`
	Error        *string                `json:"error"`
	ContentID    *string                `json:"content_id"`
	ChunkCount   int                    `json:"chunk_count"`
	Metadata     map[string]interface{} `json:"metadata"`
	UploadURL    string                 `json:"upload_url,omitempty"`
	CreatedAt    string                 `json:"created_at"`
	UpdatedAt    string                 `json:"updated_at"`
}

// Create creates a collection: body holds name and optionally description, chunking, embedding_model, metadata.
func (s *CollectionsService) Create(ctx context.Context, body map[string]interface{}) (map[string]interface{}, error) {
	var out map[string]interface{}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/collections", &RequestOptions{Body: body}, &out)
	return out, err
}

// List returns a page of collections.
func (s *CollectionsService) List(ctx context.Context, limit int) ([]map[string]interface{}, error) {
	var out []map[string]interface{}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/collections", &RequestOptions{Query: q}, &out)
	return out, err
}

// Get returns a collection.
func (s *CollectionsService) Get(ctx context.Context, id string) (map[string]interface{}, error) {
	var out map[string]interface{}
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/collections/%s", id), nil, &out)
	return out, err
}

// Update changes a collection.
func (s *CollectionsService) Update(ctx context.Context, id string, patch map[string]interface{}) (map[string]interface{}, error) {
	var out map[string]interface{}
	_, err := s.c.call(ctx, http.MethodPatch, p("/api/v1/collections/%s", id), &RequestOptions{Body: patch}, &out)
	return out, err
}

// Delete deletes a collection and its documents.
func (s *CollectionsService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/collections/%s", id), nil, nil)
	return err
}

// AddContent adds a processed content item to the collection.
func (s *CollectionsService) AddContent(ctx context.Context, id, contentID string) (*KbDocument, error) {
	var out KbDocument
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/collections/%s/content", id), &RequestOptions{Body: map[string]string{"content_id": contentID}}, &out)
	return ret(&out, err)
}

// Create creates a document and returns it with a pre-signed UploadURL: PUT the file there, then call Complete.
func (s *DocumentsService) Create(ctx context.Context, collectionID, filename, contentType string, size int64) (*KbDocument, error) {
	var out KbDocument
	body := map[string]interface{}{"collection_id": collectionID, "filename": filename, "content_type": contentType}
	if size > 0 {
		body["size"] = size
	}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/documents", &RequestOptions{Body: body}, &out)
	return ret(&out, err)
}

// List returns documents, optionally of one collection.
func (s *DocumentsService) List(ctx context.Context, collectionID string) ([]KbDocument, error) {
	var out []KbDocument
	q := url.Values{}
	if collectionID != "" {
		q.Set("collection_id", collectionID)
	}
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/documents", &RequestOptions{Query: q}, &out)
	return out, err
}

// Get returns a document and its workflow state.
func (s *DocumentsService) Get(ctx context.Context, id string) (*KbDocument, error) {
	var out KbDocument
	_, err := s.c.call(ctx, http.MethodGet, p("/api/v1/documents/%s", id), nil, &out)
	return ret(&out, err)
}

// Delete deletes a document, its file and its chunks.
func (s *DocumentsService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, http.MethodDelete, p("/api/v1/documents/%s", id), nil, nil)
	return err
}

// Complete signals that the file was uploaded; the workflow starts.
func (s *DocumentsService) Complete(ctx context.Context, id string) (*KbDocument, error) {
	var out KbDocument
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/documents/%s/complete", id), nil, &out)
	return ret(&out, err)
}

// Reindex runs the document's workflow again.
func (s *DocumentsService) Reindex(ctx context.Context, id string) (*KbDocument, error) {
	var out KbDocument
	_, err := s.c.call(ctx, http.MethodPost, p("/api/v1/documents/%s/reindex", id), nil, &out)
	return ret(&out, err)
}

// Search ranks the chunks of the collections for q (hybrid: BM25 and vectors fused by RRF).
func (s *KnowledgeService) Search(ctx context.Context, q string, collectionIDs []string, topK int) (map[string]interface{}, error) {
	var out map[string]interface{}
	v := url.Values{"q": {q}, "collection_ids": {strings.Join(collectionIDs, ",")}}
	if topK > 0 {
		v.Set("top_k", strconv.Itoa(topK))
	}
	_, err := s.c.call(ctx, http.MethodGet, "/api/v1/search", &RequestOptions{Query: v}, &out)
	return out, err
}

// SearchFiltered searches with a JSON body (q, collection_ids, top_k, mode, filters).
func (s *KnowledgeService) SearchFiltered(ctx context.Context, body map[string]interface{}) (map[string]interface{}, error) {
	var out map[string]interface{}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/search", &RequestOptions{Body: body}, &out)
	return out, err
}

// Query answers a question from the collections, whole (id, answer, model, sources, usage).
func (s *KnowledgeService) Query(ctx context.Context, question string, collectionIDs []string) (map[string]interface{}, error) {
	var out map[string]interface{}
	h := http.Header{}
	h.Set("Accept", "application/json")
	body := map[string]interface{}{"question": question, "collection_ids": collectionIDs}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/query", &RequestOptions{Body: body, Header: h}, &out)
	return out, err
}

// Embeddings returns the vectors of the texts.
func (s *KnowledgeService) Embeddings(ctx context.Context, input []string, model string) ([][]float64, error) {
	var out struct {
		Embeddings [][]float64 `json:"embeddings"`
	}
	body := map[string]interface{}{"input": input}
	if model != "" {
		body["model"] = model
	}
	_, err := s.c.call(ctx, http.MethodPost, "/api/v1/embeddings", &RequestOptions{Body: body}, &out)
	return out.Embeddings, err
}
