package chart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/Masterminds/semver/v3"

	"wookie.dev/wookie/internal/lock"
)

// localSource finds a local chart: the directory <repo>/<name>, or the
// archive <repo>/<name>-<version>.tgz, or <repo> itself when it is a .tgz.
func (c *Client) localSource(ref lock.Ref) (path string, isDir bool, err error) {
	repo := localPath(c.BaseDir, ref.Repo)
	st, err := os.Stat(repo)
	if err != nil {
		return "", false, fmt.Errorf("local repository %s: %w", ref.Repo, unwrapPath(err))
	}
	if !st.IsDir() {
		return repo, false, nil
	}
	dir := filepath.Join(repo, ref.Name)
	if st, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil && st.Mode().IsRegular() {
		return dir, true, nil
	}
	if ref.Version != "" {
		if p := filepath.Join(repo, ref.Name+"-"+ref.Version+".tgz"); fileExists(p) {
			return p, false, nil
		}
	}
	return "", false, fmt.Errorf("no chart %s in local repository %s (looked for %s/Chart.yaml and %s-%s.tgz)", ref.Name, ref.Repo, ref.Name, ref.Name, ref.Version)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readLocal returns the archive and digest of a local chart: a directory
// is packed canonically, a .tgz is read as it is.
func (c *Client) readLocal(ref lock.Ref) (data []byte, digest, where string, err error) {
	p, isDir, err := c.localSource(ref)
	if err != nil {
		return nil, "", "", err
	}
	where = ref.Repo
	if isDir {
		where = filepath.Join(ref.Repo, ref.Name)
		data, digest, err = PackDir(p)
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w", where, err)
		}
		return data, digest, where, nil
	}
	if p != localPath(c.BaseDir, ref.Repo) {
		where = filepath.Join(ref.Repo, filepath.Base(p))
	}
	data, err = os.ReadFile(p)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", where, unwrapPath(err))
	}
	if int64(len(data)) > c.limits().MaxArchive {
		return nil, "", "", fmt.Errorf("%s: larger than the limit of %d bytes", where, c.limits().MaxArchive)
	}
	return data, Digest(data), where, nil
}

// resolveLocal pins a local chart.
func (c *Client) resolveLocal(ref lock.Ref) (*Resolved, error) {
	data, digest, where, err := c.readLocal(ref)
	if err != nil {
		return nil, err
	}
	ch, err := Load(data, c.limits(), ref.Name, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	version := ch.Metadata.Version
	if ref.Version != "" {
		if err := versionMatches(version, ref.Version); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	e := lock.Entry{Ref: ref, ResolvedVersion: version, URL: where, Digest: digest}
	return &Resolved{Entry: e, Archive: data}, nil
}

// versionMatches checks a chart version against a requested version or
// constraint.
func versionMatches(have, want string) error {
	if have == want {
		return nil
	}
	c, err := semver.NewConstraint(want)
	if err != nil {
		return fmt.Errorf("chart version is %s, not %s", have, want)
	}
	v, err := semver.NewVersion(have)
	if err != nil || !c.Check(v) {
		return fmt.Errorf("chart version is %s, which does not match %s", have, want)
	}
	return nil
}

// fetchLocal reads a local chart and checks it against its pin.
func (c *Client) fetchLocal(e lock.Entry) ([]byte, error) {
	data, digest, where, err := c.readLocal(e.Ref)
	if err != nil {
		return nil, err
	}
	if digest != e.Digest {
		return nil, &DigestMismatchError{What: where + " (the local chart changed since it was locked: run 'wookie lock --update " + e.Name + "')", Expected: e.Digest, Actual: digest}
	}
	if _, err := Load(data, c.limits(), e.Name, e.ResolvedVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return data, nil
}
