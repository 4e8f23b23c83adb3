//go:build !linux

package fleettest

import (
	"os/exec"
	"syscall"
)

// startLocked starts cmd in its own process group.
func startLocked(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd.Start()
}
