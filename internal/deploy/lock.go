package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LockName is the prefix of the Lease in InventoryNamespace that a deploy
// holds while it applies to a cluster of the Plan, so that two deploys
// never write one inventory at once: wookie-deploy-<cluster>.
const LockName = "wookie-deploy"

// lockName is the name of the Lease of the Plan's cluster.
func lockName(cluster string) string { return LockName + "-" + cluster }

// DefaultLockDuration is how long a lock lasts unless renewed; a deploy
// renews it every third of that.
const DefaultLockDuration = 60 * time.Second

// LockError says that another deploy holds a cluster's lock.
type LockError struct {
	Cluster string
	// Holder is the other deploy: "user@host pid N".
	Holder string
	// Renewed is when the holder last renewed it, Expires when it lapses.
	Renewed, Expires time.Time
}

func (e *LockError) Error() string {
	return fmt.Sprintf("another deploy holds the lock of cluster %s (Lease %s/%s, holder %s, renewed %s ago, lapses in %s unless renewed): wait for it, pass --lock-wait, or delete the Lease if that deploy is gone",
		e.Cluster, InventoryNamespace, lockName(e.Cluster), e.Holder,
		time.Since(e.Renewed).Round(time.Second), time.Until(e.Expires).Round(time.Second))
}

// lock is a held cluster lock.
type lock struct {
	c        client.Client
	name     string // of the Lease
	identity string
	duration time.Duration
	stop     context.CancelFunc
	done     chan struct{}
}

// identity names this process in a Lease: user@host pid N, and a random
// suffix that tells two processes of one pid apart.
func identity() string {
	host, _ := os.Hostname()
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s@%s pid %d #%s", name, host, os.Getpid(), hex.EncodeToString(b[:]))
}

// holderGone reports whether holder is a process of this host that has
// exited: its lock may be taken at once (a deploy killed with SIGKILL).
func holderGone(holder string) bool {
	before, after, ok := strings.Cut(holder, " pid ")
	at := strings.LastIndex(before, "@")
	if me, _ := os.Hostname(); !ok || at < 0 || before[at+1:] != me {
		return false
	}
	pidText, _, _ := strings.Cut(after, " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return processGone(pid)
}

// acquireLock takes the lock of cluster through c, waiting up to wait for
// another holder to let go (0: not at all). A lock that lapsed, or whose
// holder was a process of this host that is gone, is taken over, with a
// note. The lock is renewed until release; if renewing fails, lost is
// called (the deploy stops).
func acquireLock(ctx context.Context, c client.Client, cluster string, duration, wait time.Duration, note func(string), lost func(error)) (*lock, error) {
	if duration <= 0 {
		duration = DefaultLockDuration
	}
	l := &lock{c: c, name: lockName(cluster), identity: identity(), duration: duration}
	ns := &corev1.Namespace{}
	ns.Name = InventoryNamespace
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("lock: namespace %s: %w", InventoryNamespace, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := l.try(ctx, note)
		var held *LockError
		if !errors.As(err, &held) {
			if err != nil {
				return nil, err
			}
			break
		}
		held.Cluster = cluster
		if time.Now().After(deadline) {
			return nil, held
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Second, time.Until(deadline)+10*time.Millisecond)):
		}
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = stop, make(chan struct{})
	go l.renew(rctx, lost)
	return l, nil
}

// try takes the Lease once: it creates it, or updates one that lapsed or
// whose holder is gone. A Lease another holds is a *LockError.
func (l *lock) try(ctx context.Context, note func(string)) error {
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{}
	lease.Name, lease.Namespace = l.name, InventoryNamespace
	err := l.c.Get(ctx, client.ObjectKeyFromObject(lease), lease)
	if apierrors.IsNotFound(err) {
		lease.Spec = l.spec(now, now)
		err = l.c.Create(ctx, lease)
		if apierrors.IsAlreadyExists(err) {
			return &LockError{Holder: "(another deploy, just now)", Renewed: now.Time, Expires: now.Add(l.duration)}
		}
		if err != nil {
			return fmt.Errorf("lock: create Lease %s/%s: %w", InventoryNamespace, l.name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock: read Lease %s/%s: %w", InventoryNamespace, l.name, err)
	}
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	renewed := now.Time
	if lease.Spec.RenewTime != nil {
		renewed = lease.Spec.RenewTime.Time
	}
	expires := renewed.Add(time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)) * time.Second)
	switch {
	case holder == "" || holder == l.identity:
	case time.Now().After(expires):
		note(fmt.Sprintf("took over the lock that %s left %s ago", holder, time.Since(renewed).Round(time.Second)))
	case isEnded(holder):
		note(fmt.Sprintf("took over the lock of an earlier deploy of this process (%s), which ended without releasing it", holder))
	case holderGone(holder):
		note(fmt.Sprintf("took over the lock of %s, which has exited", holder))
	default:
		return &LockError{Holder: holder, Renewed: renewed, Expires: expires}
	}
	lease.Spec = l.spec(now, now)
	if err := l.c.Update(ctx, lease); err != nil {
		if apierrors.IsConflict(err) {
			return &LockError{Holder: "(another deploy, just now)", Renewed: now.Time, Expires: now.Add(l.duration)}
		}
		return fmt.Errorf("lock: update Lease %s/%s: %w", InventoryNamespace, l.name, err)
	}
	return nil
}

func (l *lock) spec(acquired, renewed metav1.MicroTime) coordinationv1.LeaseSpec {
	return coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(l.identity),
		LeaseDurationSeconds: ptr.To(int32(max(1, l.duration/time.Second))),
		AcquireTime:          &acquired,
		RenewTime:            &renewed,
	}
}

// renew renews the Lease every third of its duration until ctx ends. If it
// finds the Lease taken or cannot renew it before it lapses, it calls lost.
func (l *lock) renew(ctx context.Context, lost func(error)) {
	defer close(l.done)
	every := l.duration / 3
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		err := l.renewOnce(ctx)
		switch {
		case err == nil:
			last = time.Now()
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLockTaken) || time.Since(last) > l.duration:
			if lost != nil {
				lost(err)
			}
			return
		}
	}
}

var errLockTaken = errors.New("the lock was taken by another deploy")

func (l *lock) renewOnce(ctx context.Context) error {
	lease := &coordinationv1.Lease{}
	if err := l.c.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: l.name}, lease); err != nil {
		if apierrors.IsNotFound(err) {
			return errLockTaken
		}
		return err
	}
	if ptr.Deref(lease.Spec.HolderIdentity, "") != l.identity {
		return fmt.Errorf("%w (%s)", errLockTaken, ptr.Deref(lease.Spec.HolderIdentity, ""))
	}
	lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
	return l.c.Update(ctx, lease)
}

// ended holds the identities of this process's locks that were released
// or given up: a Lease still naming one (its delete failed, the API server
// being down) may be taken at once.
var ended sync.Map

func isEnded(holder string) bool {
	_, ok := ended.Load(holder)
	return ok
}

// release stops renewing and deletes the Lease if this deploy still holds
// it, with its own short deadline: it runs after ctx was cancelled too.
func (l *lock) release(ctx context.Context) error {
	l.stop()
	<-l.done
	ended.Store(l.identity, true)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	lease := &coordinationv1.Lease{}
	err := l.c.Get(rctx, client.ObjectKey{Namespace: InventoryNamespace, Name: l.name}, lease)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release lock %s/%s: %w", InventoryNamespace, l.name, err)
	}
	if ptr.Deref(lease.Spec.HolderIdentity, "") != l.identity {
		return nil
	}
	err = l.c.Delete(rctx, lease, client.Preconditions{UID: &lease.UID, ResourceVersion: &lease.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("release lock %s/%s: %w", InventoryNamespace, l.name, err)
	}
	return nil
}
