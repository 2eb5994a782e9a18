package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// runtimeDirLive reports whether a DPDK process still uses the runtime
// directory dir. A primary holds a write lock (fcntl) on dir/config for
// its lifetime; one without shared files (--in-memory, --no-shconf) has
// no config but, unless IPC is off too, answers on dir/mp_socket. A dead
// one does neither. Locks of this process do not count (F_GETLK does not
// report them), so a failed start here can remove what it made.
func runtimeDirLive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "config"))
	if err == nil {
		defer f.Close()
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk)
		return err != nil || lk.Type != unix.F_UNLCK // unknown counts as live
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	return unix.Connect(fd, &unix.SockaddrUnix{Name: filepath.Join(dir, "mp_socket")}) == nil
}

// removeRuntimeDir removes EAL's runtime directory for prefix under base
// unless a live process uses it. gone is false when it was left in place.
func removeRuntimeDir(base, prefix string) (gone bool, err error) {
	if prefix == "" || strings.ContainsAny(prefix, "/") || prefix == "." || prefix == ".." {
		return false, nil
	}
	dir := filepath.Join(base, prefix)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if runtimeDirLive(dir) {
		return false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("remove EAL runtime dir: %w", err)
	}
	return true, nil
}
