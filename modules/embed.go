// Package modules holds wookie's standard library of CUE modules: the
// platform schema, the chart catalog, the targets and the projects. They are
// embedded into the binary and unified with the user's configuration.
package modules

import "embed"

// FS holds the standard modules. Every .cue file under platform, charts,
// targets and projects belongs to package wookie and is always loaded;
// default holds the configuration used when the user gives none.
//
//go:embed platform charts targets projects default
var FS embed.FS

// Library lists the directories of FS that are always loaded.
var Library = []string{"platform", "charts", "targets", "projects"}

// Default is the directory of FS holding the default configuration.
const Default = "default"
