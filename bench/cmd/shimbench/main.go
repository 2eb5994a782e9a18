// Command shimbench measures TCP throughput of unmodified programs over
// openperfd's emulated interfaces: iperf3 client and server, both under
// the socket shim (LD_PRELOAD), from interface a on test-mode port 0 to
// interface b on port 1, and, in the same run, the kernel's figure for
// the same iperf3 over a veth pair into a network namespace made for the
// run. Each round runs both for -seconds; the table shows every round and
// the median.
//
//	go run ./bench/cmd/shimbench -bin bin/openperfd -shim bin/libopenperfd-shim.so
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	benchdaemon "github.com/openperfd/openperfd/bench/daemon"
)

func main() {
	bin := flag.String("bin", "bin/openperfd", "openperfd binary")
	shim := flag.String("shim", "bin/libopenperfd-shim.so", "the socket shim")
	secs := flag.Int("seconds", 3, "iperf3 run time of each measurement")
	rounds := flag.Int("rounds", 3, "rounds (shim and kernel each)")
	extra := flag.String("daemon-args", "", "more openperfd arguments, space-separated (e.g. \"--modules.stack.rx-strategy queued\")")
	flag.Parse()
	if err := run(*bin, *shim, *secs, *rounds, strings.Fields(*extra)); err != nil {
		fmt.Fprintln(os.Stderr, "shimbench:", err)
		os.Exit(1)
	}
}

func run(bin, shim string, secs, rounds int, extra []string) error {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return fmt.Errorf("iperf3 not found (Debian package iperf3): %w", err)
	}
	lib, err := absPath(shim)
	if err != nil {
		return err
	}
	tag := strconv.Itoa(os.Getpid())
	prefix := "shimbench" + tag
	d, err := benchdaemon.Start(bin, nil, append([]string{"--modules.packetio.dpdk.test-mode", "-P", prefix}, extra...)...)
	if err != nil {
		return err
	}
	defer d.Stop()
	for _, it := range []struct{ id, port, mac, addr string }{
		{"a", "0", "02:00:00:00:5a:01", "10.55.0.1"}, {"b", "1", "02:00:00:00:5b:01", "10.55.0.2"},
	} {
		body := map[string]any{"id": it.id, "port_id": it.port, "config": map[string]any{"protocols": []map[string]any{
			{"eth": map[string]any{"mac_address": it.mac}},
			{"ipv4": map[string]any{"method": "static", "static": map[string]any{"address": it.addr, "prefix_length": 24}}}}}}
		if err := d.Do("POST", "/interfaces", body, 201, nil); err != nil {
			return err
		}
	}
	ns, hostEnd, nsEnd := "shimbench-"+tag, "vsbA"+tag, "vsbB"+tag
	if len(hostEnd) > 15 {
		hostEnd, nsEnd = hostEnd[:15], nsEnd[:15]
	}
	defer func() { _ = exec.Command("ip", "netns", "del", ns).Run() }()
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", ns},
		{"addr", "add", "10.56.0.1/24", "dev", hostEnd},
		{"link", "set", hostEnd, "up"},
		{"-n", ns, "addr", "add", "10.56.0.2/24", "dev", nsEnd},
		{"-n", ns, "link", "set", nsEnd, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %w: %s", args, err, out)
		}
	}
	shimEnv := append(os.Environ(), "LD_PRELOAD="+lib, "OP_PREFIX="+prefix)
	var shimG, kernG []float64
	fmt.Printf("iperf3 TCP, %d s each        shim Gbit/s   kernel veth Gbit/s\n", secs)
	for r := 1; r <= rounds; r++ {
		s, err := iperf(shimEnv, nil, "10.55.0.2", secs, func() error { return waitListening(d, 5299) })
		if err != nil {
			return fmt.Errorf("round %d, shim: %w", r, err)
		}
		k, err := iperf(os.Environ(), []string{"ip", "netns", "exec", ns}, "10.56.0.2", secs, func() error {
			time.Sleep(300 * time.Millisecond) // the kernel's listener: no /sockets to ask
			return nil
		})
		if err != nil {
			return fmt.Errorf("round %d, kernel: %w", r, err)
		}
		shimG, kernG = append(shimG, s), append(kernG, k)
		fmt.Printf("round %d                   %10.2f   %18.2f\n", r, s, k)
	}
	fmt.Printf("median                    %10.2f   %18.2f   (goal: shim >= 2 Gbit/s)\n", median(shimG), median(kernG))
	return nil
}

// iperf runs an iperf3 server (one test; prefixed by wrap, e.g. ip netns
// exec) bound to addr and a client against it for secs, both with env,
// and returns the received rate in Gbit/s. ready waits for the server.
func iperf(env, wrap []string, addr string, secs int, ready func() error) (float64, error) {
	srvArgs := append(append([]string(nil), wrap...), "iperf3", "-s", "-1", "-B", addr, "-p", "5299")
	srv := exec.Command(srvArgs[0], srvArgs[1:]...)
	srv.Env = env
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	if err := ready(); err != nil {
		return 0, err
	}
	cli := exec.Command("iperf3", "-c", addr, "-p", "5299", "-t", strconv.Itoa(secs), "-J")
	cli.Env = env
	out, err := cli.Output()
	if err != nil {
		return 0, fmt.Errorf("iperf3 client: %w: %.500s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("iperf3 JSON: %w", err)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9, nil
}

// waitListening waits until the daemon lists a socket on local port port.
func waitListening(d *benchdaemon.Daemon, port int) error {
	for range 200 {
		var socks []struct {
			LocalPort *int `json:"local_port"`
		}
		if err := d.Do("GET", "/sockets", nil, 200, &socks); err != nil {
			return err
		}
		for _, s := range socks {
			if s.LocalPort != nil && *s.LocalPort == port {
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("no listener on port %d in /sockets after 5 s", port)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func absPath(p string) (string, error) {
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the shim: %w (make shim)", err)
	}
	if len(p) > 0 && p[0] == '/' {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return wd + "/" + p, nil
}
