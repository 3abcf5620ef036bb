package loam

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	// Cursor of the next page; empty on the last page.
	Cursor string
	// TotalCount when the list was asked to count (Count: true).
	TotalCount *int
}

// Iter walks every item of every page, fetching pages as needed:
//
//	it := client.Records.Iterate(ctx, dsID, loam.RecordQuery{Filter: loam.Filter{"age": loam.Filter{"$gte": 18}}})
//	for it.Next() { rec := it.Item() }
//	if err := it.Err(); err != nil { ... }
type Iter[T any] struct {
	ctx   context.Context
	load  func(ctx context.Context, cursor string) (*Page[T], error)
	page  *Page[T]
	index int
	err   error
	done  bool
	pages int
}

func newIter[T any](ctx context.Context, load func(ctx context.Context, cursor string) (*Page[T], error)) *Iter[T] {
	return &Iter[T]{ctx: ctx, load: load, index: -1}
}

// Next advances to the next item; false at the end or on an error (see Err).
func (it *Iter[T]) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if it.page != nil && it.index+1 < len(it.page.Items) {
			it.index++
			return true
		}
		if it.done || (it.page != nil && it.page.Cursor == "") {
			it.done = true
			return false
		}
		cursor := ""
		if it.page != nil {
			cursor = it.page.Cursor
		}
		page, err := it.load(it.ctx, cursor)
		if err != nil {
			it.err = err
			return false
		}
		it.page, it.index = page, -1
		it.pages++
	}
}

// Item is the current item.
func (it *Iter[T]) Item() T { return it.page.Items[it.index] }

// Err is the error that stopped the iteration, if any.
func (it *Iter[T]) Err() error { return it.err }

// Pages is how many pages have been fetched so far.
func (it *Iter[T]) Pages() int { return it.pages }

// All collects every item (mind large lists).
func (it *Iter[T]) All() ([]T, error) {
	var out []T
	for it.Next() {
		out = append(out, it.Item())
	}
	return out, it.Err()
}

// Each calls fn for every item, stopping at fn's first error.
func (it *Iter[T]) Each(fn func(T) error) error {
	for it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return it.Err()
}

// Chan streams the items through a channel; the error channel receives at most one error and
// both are closed at the end. Cancel ctx to stop early.
func (it *Iter[T]) Chan() (<-chan T, <-chan error) {
	items, errs := make(chan T), make(chan error, 1)
	go func() {
		defer close(items)
		defer close(errs)
		for it.Next() {
			select {
			case items <- it.Item():
			case <-it.ctx.Done():
				errs <- it.ctx.Err()
				return
			}
		}
		if it.Err() != nil {
			errs <- it.Err()
		}
	}()
	return items, errs
}

func pageOf[T any](env *Envelope) (*Page[T], error) {
	page := &Page[T]{}
	if len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, &page.Items); err != nil {
			return nil, err
		}
	}
	if env.Pagination != nil {
		if env.Pagination.HasMore {
			page.Cursor = env.Pagination.Cursor
		}
		page.TotalCount = env.Pagination.TotalCount
	}
	return page, nil
}

// listGet pages a GET list with ?cursor=.
func listGet[T any](ctx context.Context, c *Client, path string, q url.Values) *Iter[T] {
	return newIter(ctx, func(ctx context.Context, cursor string) (*Page[T], error) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		env, err := c.call(ctx, http.MethodGet, path, &RequestOptions{Query: qq}, nil)
		if err != nil {
			return nil, err
		}
		return pageOf[T](env)
	})
}

// listPost pages a POST query whose body carries the cursor.
func listPost[T any](ctx context.Context, c *Client, path string, body map[string]interface{}) *Iter[T] {
	return newIter(ctx, func(ctx context.Context, cursor string) (*Page[T], error) {
		b := map[string]interface{}{}
		for k, v := range body {
			b[k] = v
		}
		if cursor != "" {
			b["cursor"] = cursor
		}
		env, err := c.call(ctx, http.MethodPost, path, &RequestOptions{Body: b}, nil)
		if err != nil {
			return nil, err
		}
		return pageOf[T](env)
	})
}
