package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The session cookie the anti-forgery token is bound to, and where a write
// carries the token.
const (
	sessionCookie = "biztier_console_session"
	tokenField    = "csrf_token"
	tokenHeader   = "X-CSRF-Token"
)

// tokens makes and checks anti-forgery tokens: a token is the HMAC of the
// browser's session cookie under a key only this Handler knows, so a page of
// another site can neither read nor compute it (a synchronizer token bound to
// the session, with no server-side state).
type tokens struct {
	key [32]byte
}

func newTokens() *tokens {
	t := new(tokens)
	rand.Read(t.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return t
}

// session returns the request's session ID, setting a new cookie on w when
// the request has none.
func (t *tokens) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return c.Value
	}
	var b [18]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	// Later reads in this request see it too.
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	return id
}

// token returns the anti-forgery token of a session.
func (t *tokens) token(session string) string {
	m := hmac.New(sha256.New, t.key[:])
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// check reports whether r carries the token of its session cookie, in the
// form field or the header.
func (t *tokens) check(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.Header.Get(tokenHeader)
	if got == "" {
		got = r.PostFormValue(tokenField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(t.token(c.Value)))
}
