//go:build unix && !linux

package testenv

import (
	"os/exec"
	"syscall"
)

// childAttr puts the child into its own process group.
func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Setpgid = true
	return a
}

func startLocked(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
