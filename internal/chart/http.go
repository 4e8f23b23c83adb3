package chart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"wookie.dev/wookie/internal/errtext"
)

// Retry says how often and how patiently wookie retries a request that
// failed with a 5xx status, 429, a timeout or a broken connection. It
// applies to chart repositories and OCI registries alike.
type Retry struct {
	// Attempts is the number of tries in all (at least 1).
	Attempts int
	// Backoff is the wait before the second try; it doubles after each.
	Backoff time.Duration
	// Timeout bounds the wait for a response's headers on one try.
	Timeout time.Duration
}

// DefaultRetry is the retry policy wookie uses.
var DefaultRetry = Retry{Attempts: 4, Backoff: 500 * time.Millisecond, Timeout: 60 * time.Second}

// StatusError is a final HTTP error status.
type StatusError struct {
	URL    string
	Status int
	Text   string
	Tries  int
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Text)
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		msg += ": wrong or missing credentials (see the credentials file, $" + CredentialsEnv + ")"
	}
	if e.Tries > 1 {
		msg += fmt.Sprintf(" (gave up after %d tries)", e.Tries)
	}
	return msg
}

// retryTransport retries idempotent requests that failed transiently.
type retryTransport struct {
	base  http.RoundTripper
	retry Retry
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.Body != nil && req.Body != http.NoBody {
		return t.base.RoundTrip(req)
	}
	attempts := max(t.retry.Attempts, 1)
	wait := t.retry.Backoff
	for try := 1; ; try++ {
		resp, err := t.base.RoundTrip(req)
		retryable := false
		switch {
		case err != nil:
			retryable = transient(req.Context(), err)
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			retryable = true
		}
		if !retryable {
			return resp, err
		}
		if try >= attempts {
			if err != nil {
				if try > 1 {
					err = fmt.Errorf("%w (gave up after %d tries)", err, try)
				}
				return nil, err
			}
			if try == 1 {
				return resp, nil
			}
			drain(resp)
			return nil, &StatusError{URL: errtext.RedactURL(req.URL.String()), Status: resp.StatusCode, Text: resp.Status, Tries: try}
		}
		if resp != nil {
			drain(resp)
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// transient reports whether a transport error may go away on retry: a
// timeout or a refused or reset connection, unless the caller gave up.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return false // no such host: asking again will not help
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// transports holds one HTTP client per CA bundle.
type transports struct {
	mu      sync.Mutex
	clients map[string]*http.Client
}

// client returns the retrying HTTP client that trusts the system roots
// plus caFile.
func (t *transports) client(caFile string, r Retry) (*http.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.clients[caFile]; ok {
		return c, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = r.Timeout
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s: no PEM certificates in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := &http.Client{Transport: &retryTransport{base: tr, retry: r}, CheckRedirect: keepCredentialsHome}
	if t.clients == nil {
		t.clients = map[string]*http.Client{}
	}
	t.clients[caFile] = c
	return c, nil
}

// maxRedirects bounds the redirects one request follows, as net/http does.
const maxRedirects = 10

// keepCredentialsHome is the redirect policy of every client: a redirect
// to another origin (scheme, host or port) than the first request's is
// followed without the Authorization header. net/http keeps the header
// when only the port changes, and on every later hop copies it from the
// first request again, so each hop is checked against the first. OCI
// registries' bearer token realms are not redirects: oras-go asks them
// for a token as the distribution spec says, with the credential of the
// registry that named them.
func keepCredentialsHome(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !sameOrigin(via[0].URL, req.URL) {
		req.Header.Del("Authorization")
		req.Header.Del("Proxy-Authorization")
	}
	return nil
}

// get downloads url with the credential a (may be nil) and refuses bodies
// larger than limit bytes.
func get(ctx context.Context, hc *http.Client, a *auth, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", errtext.RedactURL(url), plainError(err))
	}
	req.Header.Set("User-Agent", "wookie")
	if a != nil {
		switch {
		case a.token != "":
			req.Header.Set("Authorization", "Bearer "+a.token)
		case a.username != "" || a.password != "":
			req.SetBasicAuth(a.username, a.password)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, fmt.Errorf("GET %s: %w", errtext.RedactURL(url), plainError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, &StatusError{URL: errtext.RedactURL(url), Status: resp.StatusCode, Text: resp.Status, Tries: 1}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", errtext.RedactURL(url), plainError(err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: larger than the limit of %d bytes", errtext.RedactURL(url), limit)
	}
	return data, nil
}

// plainError drops the *url.Error wrapper, whose message repeats the URL.
func plainError(err error) error {
	var ue interface {
		Unwrap() error
		Timeout() bool
	}
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Unwrap())
		}
		return ue.Unwrap()
	}
	return err
}
