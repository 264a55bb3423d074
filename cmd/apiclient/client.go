// Package apiclient is a typed client for the admin REST API of a running mongoose-go node
// (the MongooseIM 6.5 REST contract for domains and users, plus /domains, /host_types and
// /status listings). The CLI uses it; it has no CLI concerns of its own.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// DefaultTimeout bounds each HTTP call, so a hung node cannot hang a script.
const DefaultTimeout = 30 * time.Second

// maxErrorBody caps how much of an error body is read: reasons are one short string.
const maxErrorBody = 64 << 10

// Client talks to one node's admin API. It is safe for concurrent use.
type Client struct {
	base     string // without trailing slash
	user     string
	password string
	// HTTP is the underlying client; replace it or its Timeout before first use if needed.
	HTTP *http.Client
}

// New returns a client for the API rooted at base (e.g. http://127.0.0.1:8088/api).
// Basic auth is sent when user or password is non-empty.
func New(base, user, password string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Bulk commands run several requests at once; keep their connections alive instead of
	// churning through the default two idle connections per host.
	tr.MaxIdleConnsPerHost = 32
	return &Client{
		base:     strings.TrimRight(base, "/"),
		user:     user,
		password: password,
		HTTP:     &http.Client{Timeout: DefaultTimeout, Transport: tr},
	}
}

// BaseURL is the API root the client was built with, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// do sends one request. A 2xx answer is decoded into out (when out is non-nil and the body
// is non-empty); anything else becomes *APIError or *UnreachableError.
func (c *Client) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("invalid admin API URL %q: %w", c.base, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &UnreachableError{URL: c.base, Reason: transportReason(err, c.HTTP.Timeout), Err: err}
	}
	defer func() {
		// Drain so the connection can be reused by the next request of a bulk run.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s %s: malformed response: %w", method, path, err)
	}
	return nil
}

// readAPIError turns an error response into *APIError. The body is a JSON string by
// contract; anything else (an HTML page from a proxy, say) is used as plain text.
func readAPIError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	raw = bytes.TrimSpace(raw)
	var msg string
	if err := json.Unmarshal(raw, &msg); err != nil {
		msg = string(raw)
	}
	msg = oneLine(msg)
	if msg == "" {
		msg = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// oneLine replaces control characters so a reason prints as a single line and cannot
// carry terminal escape sequences from the server.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// transportReason gives the short cause of a failed round trip, e.g. "connection refused"
// rather than the full `Put "http://...": dial tcp ...: connect: connection refused`.
func transportReason(err error, timeout time.Duration) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	// The innermost error is the system-level cause (ECONNREFUSED -> "connection refused").
	inner := err
	for {
		next := errors.Unwrap(inner)
		if next == nil {
			break
		}
		inner = next
	}
	return inner.Error()
}

// escape makes one path segment out of a name. Names that would change the path's shape
// are rejected here rather than sent.
func escape(kind, name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return "", fmt.Errorf("invalid %s name %q", kind, name)
	}
	return url.PathEscape(name), nil
}
