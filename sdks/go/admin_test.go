package loam_test

import (
	"context"
	"net/http"
	"testing"

	loam "loam.dev/loam-go"
)

func TestAdmin(t *testing.T) {
	ctx := context.Background()
	c := newClient()
	email := "admin-" + unique() + "@example.com"
	res, err := c.Do(ctx, http.MethodPost, "/auth/signup", &loam.RequestOptions{Body: loam.JSON{"email": email, "password": "correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	mail := must(c.Admin.Mailbox.List(ctx, email, 1, ""))
	if len(mail) != 1 || mail[0].To != email {
		t.Fatalf("mailbox: %+v", mail)
	}
	var user *loam.User
	for _, u := range must(c.Admin.Users.List(ctx, 100, "").All()) {
		if u.Email == email {
			u := u
			user = &u
		}
	}
	if user == nil || user.Status != "unconfirmed" {
		t.Fatalf("user %s not listed: %+v", email, user)
	}
	if got := must(c.Admin.Users.Get(ctx, user.ID)); got.Email != email {
		t.Fatalf("get: %+v", got)
	}
	changed := must(c.Admin.Users.Update(ctx, user.ID, loam.UpdateUserParams{Roles: []string{"analyst"}, Status: "disabled"}))
	if changed.Status != "disabled" || len(changed.Roles) != 1 || changed.Roles[0] != "analyst" {
		t.Fatalf("update: %+v", changed)
	}
	if _, err := c.Admin.Users.Get(ctx, "usr_missing"); kind(err) != loam.KindNotFound {
		t.Fatalf("want not found, got %v", err)
	}
	must(c.Admin.SigningKeys.List(ctx))
	if _, err := c.Admin.SigningKeys.Rotate(ctx); kind(err) != loam.KindConflict { // the test server signs with HS256
		t.Fatalf("want conflict, got %v", err)
	}
	health := must(c.Admin.Health(ctx))
	if comps, ok := health["components"].([]interface{}); !ok || len(comps) == 0 {
		t.Fatalf("health: %v", health)
	}
	must(c.Admin.RotateMasterKey(ctx))
}
