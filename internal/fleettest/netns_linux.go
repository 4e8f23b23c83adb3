package fleettest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsCloneFlags are the clone flags that give a process a network
// namespace of its own.
const netnsCloneFlags = syscall.CLONE_NEWNET

// forwardInto listens on addrs (host:port on 127.0.0.1) inside the network
// namespace of process pid, after bringing its loopback interface up, and
// forwards every connection to the same address in the host's namespace.
// The listeners are closed when stop is closed.
func forwardInto(pid int, addrs []string, stop <-chan struct{}) error {
	type result struct {
		ls  []net.Listener
		err error
	}
	res := make(chan result, 1)
	go func() {
		// The thread enters the namespace and is never unlocked, so it
		// ends with this goroutine; the sockets it made stay in the
		// namespace and work from any thread.
		runtime.LockOSThread()
		ls, err := listenInNetns(pid, addrs)
		res <- result{ls, err}
	}()
	r := <-res
	if r.err != nil {
		return r.err
	}
	for i, l := range r.ls {
		go func() { <-stop; l.Close() }()
		go serveForward(l, addrs[i])
	}
	return nil
}

func listenInNetns(pid int, addrs []string) ([]net.Listener, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("network namespace of %d: %w", pid, err)
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter network namespace of %d: %w", pid, err)
	}
	if err := loopbackUp(); err != nil {
		return nil, err
	}
	var ls []net.Listener
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s in network namespace of %d: %w", a, pid, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// loopbackUp sets the flag IFF_UP on interface lo of the calling thread's
// network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: set flags: %w", err)
	}
	return nil
}

// serveForward copies each connection accepted on l to a new connection
// to addr, until l is closed.
func serveForward(l net.Listener, addr string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// inOwnNetns sets cmd up to start in a new network namespace.
func inOwnNetns(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= netnsCloneFlags
}
