package pipeline

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"wookie.dev/wookie/internal/plan"
)

// version is wookie's version, set at build time with
// -ldflags "-X wookie.dev/wookie/pkg/pipeline.version=v0.1.0".
var version = ""

// VersionInfo is what `wookie version` reports.
type VersionInfo struct {
	Version     string `json:"version"`
	PlanVersion string `json:"planVersion"`
	GoVersion   string `json:"goVersion"`
	CUEVersion  string `json:"cueVersion"`
}

// Version returns wookie's version: the one set at build time, else the
// module's, else devel-<commit> from the build's VCS information, else
// devel.
func Version() VersionInfo {
	v := VersionInfo{Version: version, PlanVersion: plan.APIVersion, GoVersion: runtime.Version(), CUEVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "cuelang.org/go" {
				v.CUEVersion = d.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && v.Version == "" && len(s.Value) >= 12 {
				v.Version = "devel-" + s.Value[:12]
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

// cacheVersion is wookie's version as the render cache knows it; a
// development build adds its executable's size and time, so a rebuilt
// wookie never reuses renders of another build.
func cacheVersion() string {
	v := Version().Version
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			v += fmt.Sprintf("+%d.%d", st.Size(), st.ModTime().UnixNano())
		}
	}
	return v
}
