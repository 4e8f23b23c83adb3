package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// pollInterval is how often start-up waits look again.
const pollInterval = 100 * time.Millisecond

// poll calls check until it reports done, ctx ends, or a process dies.
// what names the wait in errors; check's last error is added on timeout.
func (e *Env) poll(ctx context.Context, what, logOf string, check func(context.Context) (bool, error)) error {
	var last error
	for {
		done, err := check(ctx)
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		if err := e.died(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("testenv %s: %s: %v", e.Context, what, ctx.Err())
			if last != nil {
				msg += fmt.Sprintf(" (last: %v)", last)
			}
			if p := e.proc(logOf); p != nil {
				msg += fmt.Sprintf("; end of %s:\n%s", p.logPath, p.tail(30))
			}
			return errors.New(msg)
		case <-time.After(pollInterval):
		}
	}
}

// waitReady waits until kube-apiserver answers /readyz with 200.
func (e *Env) waitReady(ctx context.Context) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.pki.caCert)
	cert, err := tls.X509KeyPair(e.pki.adminCert, e.pki.adminKey)
	if err != nil {
		return fmt.Errorf("testenv: client certificate: %w", err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return e.poll(ctx, "kube-apiserver not ready at "+e.Server+"/readyz", "kube-apiserver", func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Server+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true, nil
		}
		return false, fmt.Errorf("%s: %s", resp.Status, failedChecks(string(body)))
	})
}

// failedChecks keeps the failing lines of a /readyz answer.
func failedChecks(body string) string {
	var bad []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "[-]") {
			bad = append(bad, strings.TrimPrefix(l, "[-]"))
		}
	}
	if len(bad) == 0 {
		return strings.TrimSpace(body)
	}
	return strings.Join(bad, "; ")
}

// waitDefaultServiceAccount waits for kube-controller-manager to create
// the ServiceAccount "default" in namespace default; Pods are refused
// before it exists.
func (e *Env) waitDefaultServiceAccount(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(e.RESTConfig())
	if err != nil {
		return fmt.Errorf("testenv: client: %w", err)
	}
	return e.poll(ctx, "no ServiceAccount default/default", "kube-controller-manager", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// createKwokNode creates the fake Node that kwok manages and waits until
// kwok has made it Ready.
func (e *Env) createKwokNode(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(e.RESTConfig())
	if err != nil {
		return fmt.Errorf("testenv: client: %w", err)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: KwokNodeName,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":           "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"kubernetes.io/arch":     "amd64",
				"kubernetes.io/os":       "linux",
				"kubernetes.io/hostname": KwokNodeName,
				"type":                   "kwok",
			},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("testenv %s: create Node %s: %w", e.Context, KwokNodeName, err)
	}
	return e.poll(ctx, "Node "+KwokNodeName+" not Ready", "kwok", func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, KwokNodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, fmt.Errorf("Ready=%s: %s", c.Status, c.Message)
			}
		}
		return false, errors.New("no Ready condition")
	})
}
