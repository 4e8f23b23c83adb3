package charttest

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"sync"
	"testing"
	"time"
)

// setupHeader marks the requests that charttest itself sends to its servers
// (pushes to a Registry); they are neither counted nor failed nor delayed.
const setupHeader = "X-Charttest-Setup"

// faults is the middleware in front of every server: it counts requests and
// injects failures and delays on demand. It also writes the server's error
// log (TLS handshake errors and the like) to the test's log.
type faults struct {
	t          testing.TB
	mu         sync.Mutex
	closed     bool
	counts     map[string]int // by URL path
	total      int
	failN      int
	failStatus int
	delay      time.Duration
	closing    chan struct{} // closed when the server closes, to end delays
	closeOnce  sync.Once
}

func newFaults(t testing.TB) *faults {
	return &faults{t: t, counts: map[string]int{}, closing: make(chan struct{})}
}

// errorLog returns a logger for http.Server.ErrorLog that writes to the
// test's log until the server closes.
func (f *faults) errorLog() *log.Logger {
	return log.New(logWriter{f}, "", 0)
}

// logWriter writes to the log of the test of its faults.
type logWriter struct{ f *faults }

func (w logWriter) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	// After the server closed, the test may be over, when logging panics.
	if !w.f.closed {
		w.f.t.Logf("charttest: server: %s", bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// wrap returns next behind the middleware.
func (f *faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(setupHeader) != "" {
			r.Header.Del(setupHeader)
			next.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.counts[r.URL.Path]++
		f.total++
		delay := f.delay
		fail := 0
		if f.failN > 0 {
			f.failN--
			fail = f.failStatus
		}
		f.mu.Unlock()

		if delay > 0 {
			timer := time.NewTimer(delay)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			case <-f.closing:
				return
			}
		}
		if fail != 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(fail)
			fmt.Fprintf(w, "charttest: injected failure: %d %s\n", fail, http.StatusText(fail))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *faults) failNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failStatus = n, status
}

func (f *faults) setDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *faults) requests(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[path]
}

func (f *faults) requestsTotal() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// close ends the delays under way, so that closing the server does not wait
// for them.
func (f *faults) close() {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		close(f.closing)
	})
}
