package testenv_test

import (
	"fmt"
	"runtime"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// outcome records whether a test ended in Fatal or Skip; both end the
// goroutine, as testing.T's do.
type outcome struct {
	testing.TB
	fatal, skip bool
}

func (o *outcome) Helper()               {}
func (o *outcome) Fatal(...any)          { o.fatal = true; runtime.Goexit() }
func (o *outcome) Fatalf(string, ...any) { o.fatal = true; runtime.Goexit() }
func (o *outcome) Skip(...any)           { o.skip = true; runtime.Goexit() }
func (o *outcome) Skipf(string, ...any)  { o.skip = true; runtime.Goexit() }

// TestStartWithoutBinaries: without the control plane's binaries, Start
// fails the test under CI=true or WOOKIE_TESTENV_REQUIRED=1 and skips it
// otherwise.
func TestStartWithoutBinaries(t *testing.T) {
	for _, tc := range []struct {
		ci, required string
		wantFatal    bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
	} {
		t.Run(fmt.Sprintf("CI=%q WOOKIE_TESTENV_REQUIRED=%q", tc.ci, tc.required), func(t *testing.T) {
			t.Setenv("WOOKIE_TESTENV_DIR", t.TempDir()) // nothing built there
			t.Setenv("CI", tc.ci)
			t.Setenv("WOOKIE_TESTENV_REQUIRED", tc.required)
			o := &outcome{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				testenv.Start(o, testenv.Options{})
			}()
			<-done
			if o.fatal != tc.wantFatal || o.skip == tc.wantFatal {
				t.Errorf("fatal %v, skip %v; want fatal %v", o.fatal, o.skip, tc.wantFatal)
			}
		})
	}
}
