//go:build !unix

package testenv

import (
	"os/exec"
	"syscall"
)

func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr { return a }

func startLocked(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
