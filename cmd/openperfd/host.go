package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// hugepages is what a host offers DPDK in hugepages, read under root
// (normally "/"; tests pass a fake tree).
type hugepages struct {
	total, free int    // pages of the default size, from /proc/meminfo
	sizeKB      int    // the default size
	mount       string // a hugetlbfs mount point, "" when none
}

// usable reports whether EAL can take its memory from hugepages.
func (h hugepages) usable() bool { return h.free > 0 && h.mount != "" }

// readHugepages reads /proc/meminfo and /proc/mounts under root; what
// cannot be read counts as none.
func readHugepages(root string) hugepages {
	b, _ := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	h := parseMeminfo(b)
	h.mount = mountOf(root, "hugetlbfs")
	return h
}

// parseMeminfo takes the hugepage counts out of /proc/meminfo's text.
func parseMeminfo(b []byte) hugepages {
	var h hugepages
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "HugePages_Total":
			h.total = n
		case "HugePages_Free":
			h.free = n
		case "Hugepagesize":
			h.sizeKB = n
		}
	}
	return h
}

// mountOf is the first mount point of a file system type in /proc/mounts
// under root, "" when there is none.
func mountOf(root, fsType string) string {
	b, _ := os.ReadFile(filepath.Join(root, "proc/mounts"))
	return mountIn(b, fsType)
}

// mountIn finds a file system type's mount point in /proc/mounts' text.
func mountIn(b []byte, fsType string) string {
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[2] == fsType {
			return f[1]
		}
	}
	return ""
}
