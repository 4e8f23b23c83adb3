package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"

	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/eval"
	"wookie.dev/wookie/internal/lock"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Plan is the versioned Plan every stage after evaluation works on.
type Plan = plan.Plan

// Cluster is a cluster of a Plan.
type Cluster = plan.Cluster

// Result is a rendered Plan: per cluster, batch and bundle, its objects.
type Result = render.Result

// Summary counts what Deploy did.
type Summary = deploy.Summary

// Event is a step of Deploy, Diff or Status, given to DeployOptions.OnEvent.
type Event = deploy.Event

// Change is what Diff says a deploy would do to one object.
type Change = deploy.Change

// BundleStatus is what Status read of a bundle's objects.
type BundleStatus = deploy.BundleStatus

// Report is what Check found.
type Report = check.Report

// EmitOptions say which GitOps format Write writes, and how.
type EmitOptions = emit.Options

// LockFile is a lock file: the charts' resolved versions and digests.
type LockFile = lock.File

// Config selects a configuration and says where its charts, lock file,
// caches and state are. The zero Config is the wookie command without
// flags: ./wookie.cue, else the embedded default configuration.
type Config struct {
	// Files are configuration files or directories (.cue, .yaml, .json)
	// unified with the embedded standard modules; none means ./wookie.cue,
	// else the embedded default.
	Files []string
	// From is a Plan file (JSON or YAML) written by any front end, read
	// instead of evaluating modules; "-" reads Stdin. It excludes Files.
	From string
	// Stdin is read for From "-".
	Stdin io.Reader
	// LockFile is the lock file; "" means wookie.lock.
	LockFile string
	// Locked makes a chart without a pin an error instead of a warning.
	Locked bool
	// CacheDir is the chart, render and check cache; "" means
	// $WOOKIE_CACHE_DIR, else $XDG_CACHE_HOME/wookie.
	CacheDir string
	// CredentialsFile holds the chart repositories' and registries'
	// credentials; "" means $WOOKIE_CREDENTIALS (which must exist when
	// set), else the default credentials file, if there is one.
	CredentialsFile string
	// Offline uses only the cache: no repository or registry is contacted.
	Offline bool
	// StateDir is wookie's state directory, which holds a directory per
	// configuration (certificates, k3d config files); "" means
	// $XDG_STATE_HOME/wookie, else ~/.local/state/wookie.
	StateDir string
	// CacheVersion keys the render and check caches; "" means wookie's
	// version, with the executable's size and time for a development
	// build, so a rebuilt program never reuses another build's renders.
	CacheVersion string
	// Warn receives each warning (a line, without "warning: "); nil drops
	// them.
	Warn func(string)
}

// Pipeline runs wookie's stages for one configuration.
type Pipeline struct {
	cfg Config
}

// New returns the pipeline of cfg, or an error when cfg contradicts
// itself.
func New(cfg Config) (*Pipeline, error) {
	if cfg.From != "" && len(cfg.Files) > 0 {
		return nil, errors.New("a Plan to read (From) and configuration files (Files) exclude each other: a Plan is already evaluated")
	}
	if cfg.LockFile == "" {
		cfg.LockFile = lock.FileName
	}
	if cfg.CacheVersion == "" {
		cfg.CacheVersion = cacheVersion()
	}
	return &Pipeline{cfg: cfg}, nil
}

// Config returns the configuration of p, defaults filled in.
func (p *Pipeline) Config() Config { return p.cfg }

// warn hands each warning to Config.Warn.
func (p *Pipeline) warn(warnings ...string) {
	if p.cfg.Warn == nil {
		return
	}
	for _, w := range warnings {
		p.cfg.Warn(w)
	}
}

// Load evaluates the configuration, or reads the Plan of Config.From.
func (p *Pipeline) Load() (*Plan, error) {
	if p.cfg.From != "" {
		return p.readPlan()
	}
	pl, warnings, err := p.evaluate()
	if err != nil {
		return nil, err
	}
	p.warn(warnings...)
	return pl, nil
}

// readPlan decodes and normalizes the Plan of Config.From.
func (p *Pipeline) readPlan() (*Plan, error) {
	var data []byte
	var err error
	source := p.cfg.From
	if source == "-" {
		source = "<stdin>"
		if p.cfg.Stdin == nil {
			return nil, errors.New("read plan: from stdin, but no Stdin given")
		}
		data, err = io.ReadAll(p.cfg.Stdin)
	} else {
		data, err = os.ReadFile(source)
	}
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	pl, err := plan.Decode(data, source)
	if err != nil {
		return nil, err
	}
	if err := plan.Normalize(pl); err != nil {
		return nil, fmt.Errorf("%s: invalid plan:\n%w", source, err)
	}
	return pl, nil
}

// Option is an option the modules declare: path, type, default, doc.
type Option = eval.Option

// Setting is a value the configuration sets, with the files that define it.
type Setting = eval.Setting

// Options returns the options of the modules and the configuration's
// settings (wookie options): the embedded standard modules unified with
// Config.Files.
func (p *Pipeline) Options() ([]Option, []Setting, error) {
	if p.cfg.From != "" {
		return nil, nil, errors.New("options: a Plan (From) has no modules; give configuration files")
	}
	v, _, err := eval.Load(eval.Config{Files: p.cfg.Files})
	if err != nil {
		return nil, nil, err
	}
	return eval.Options(v), eval.Settings(v), nil
}
