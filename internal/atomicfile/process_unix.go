//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// maxPID is above every process id a Unix system hands out (Linux's
// largest pid_max is 1<<22); a larger number is no process's, and kill(2)
// would read it as another (a process group when it wraps negative).
const maxPID = 1 << 22

// processGone reports whether no process pid exists on this host.
func processGone(pid int) bool {
	return pid > maxPID || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
