package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/workers"
)

const (
	rx   = workers.RoleRx
	tx   = workers.RoleTx
	both = workers.RoleBoth
)

func TestWorkerRolesFollowOpenPerfsMasks(t *testing.T) {
	for _, tt := range []struct {
		name      string
		cpus      []int
		rx, tx    string
		wantCPUs  []int
		wantRoles []workers.Role
	}{
		{"no masks: every worker does both", []int{1, 2, 3}, "", "", []int{1, 2, 3}, nil},
		{"packetio-args-3 on two CPUs: one worker left, doing both", []int{0, 1}, "0x2", "0x2", []int{1}, []workers.Role{both}},
		{"split", []int{1, 2, 3}, "0x2", "0xc", []int{1, 2, 3}, []workers.Role{rx, tx, tx}},
		{"overlap", []int{1, 2}, "0x6", "0x4", []int{1, 2}, []workers.Role{rx, both}},
		{"only rx given: the rest transmit", []int{1, 2, 3}, "0x2", "", []int{1, 2, 3}, []workers.Role{rx, tx, tx}},
		{"only tx given: the rest receive", []int{1, 2, 3}, "", "8", []int{1, 2, 3}, []workers.Role{rx, rx, tx}},
		{"rx mask covering all: both, not a worker-less direction", []int{1, 2}, "0x6", "", []int{1, 2}, []workers.Role{both, both}},
		{"CPUs outside both masks are not workers", []int{1, 2, 3}, "0x2", "0x4", []int{1, 2}, []workers.Role{rx, tx}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cpus, roles, err := workerRoles(tt.cpus, tt.rx, tt.tx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cpus, tt.wantCPUs) || !reflect.DeepEqual(roles, tt.wantRoles) {
				t.Fatalf("got %v %v, want %v %v", cpus, roles, tt.wantCPUs, tt.wantRoles)
			}
		})
	}
}

func TestWorkerRolesRejectMasksWithoutAWorker(t *testing.T) {
	_, _, err := workerRoles([]int{1}, "0x4", "0x8")
	if err == nil || !strings.Contains(err.Error(), "select none of the worker CPUs [1]") {
		t.Fatalf("err = %v", err)
	}
}
