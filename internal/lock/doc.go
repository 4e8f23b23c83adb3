// Package lock defines wookie.lock, the file that pins every chart a Plan
// uses to a resolved version, a download location and a content digest, and
// attaches those pins to a Plan. It is pure: it reads and writes bytes, not
// files, and does no network I/O.
package lock
