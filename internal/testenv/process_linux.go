package testenv

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// childAttr puts the child into its own process group and has the kernel
// kill it when its parent dies.
func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Setpgid, a.Pdeathsig = true, syscall.SIGKILL
	return a
}

var (
	spawnOnce sync.Once
	spawnReq  chan func()
)

// startLocked starts cmd from one goroutine locked to its OS thread for the
// life of the process. Linux sends Pdeathsig when the forking thread exits,
// not the process; a Go thread can exit early (a goroutine that ends while
// locked), and this keeps the forking thread alive as long as the test
// binary runs.
func startLocked(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives on
			for f := range spawnReq {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReq <- func() { errc <- cmd.Start() }
	return <-errc
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
