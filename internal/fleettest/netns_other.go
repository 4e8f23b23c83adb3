//go:build !linux

package fleettest

import (
	"errors"
	"os/exec"
)

func forwardInto(pid int, addrs []string, stop <-chan struct{}) error {
	return errors.New("network namespaces need Linux")
}

func inOwnNetns(cmd *exec.Cmd) {}
