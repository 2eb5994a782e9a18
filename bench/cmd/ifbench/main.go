// Command ifbench measures bulk interface creation on the real daemon:
// for each size it creates that many interfaces in one REST call, reports
// the time and the daemon's resident memory, then bulk-deletes them.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openperfd/openperfd/bench/daemon"
)

func main() {
	bin := flag.String("bin", "bin/openperfd", "openperfd binary")
	sizes := flag.String("sizes", "1000,10000,100000", "comma-separated interface counts")
	flag.Parse()
	if err := run(*bin, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "ifbench:", err)
		os.Exit(1)
	}
}

func run(bin, sizes string) error {
	d, err := daemon.Start(bin, nil, "--modules.packetio.dpdk.test-mode", "-P", fmt.Sprintf("ifbench%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer d.Stop()
	fmt.Printf("%-10s %12s %12s %14s %12s\n", "interfaces", "create s", "delete s", "RSS MB (+)", "per iface KB")
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		before := rssMB(d.Pid())
		items := make([]map[string]any, n)
		ids := make([]string, n)
		for i := range items {
			ids[i] = fmt.Sprintf("b%d", i)
			items[i] = map[string]any{"id": ids[i], "port_id": strconv.Itoa(i % 2), "config": map[string]any{"protocols": []any{
				map[string]any{"eth": map[string]any{"mac_address": fmt.Sprintf("02:01:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))}},
				map[string]any{"ipv4": map[string]any{"method": "static", "static": map[string]any{
					"address": fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i)), "prefix_length": 8}}},
			}}}
		}
		t0 := time.Now()
		if err := d.Do("POST", "/interfaces/x/bulk-create", map[string]any{"items": items}, 200, nil); err != nil {
			return fmt.Errorf("create %d: %w", n, err)
		}
		created := time.Since(t0)
		after := rssMB(d.Pid())
		t0 = time.Now()
		if err := d.Do("POST", "/interfaces/x/bulk-delete", map[string]any{"ids": ids}, 204, nil); err != nil {
			return fmt.Errorf("delete %d: %w", n, err)
		}
		deleted := time.Since(t0)
		fmt.Printf("%-10d %12.2f %12.2f %7d (+%d) %12.1f\n", n, created.Seconds(), deleted.Seconds(),
			after, after-before, float64((after-before)*1024)/float64(n))
	}
	return nil
}

func rssMB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return -1
}
