//go:build unix && !linux

package testenv

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the child into its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func startLocked(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
