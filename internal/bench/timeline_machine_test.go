package bench

import (
	"strings"
	"testing"
	"time"
)

// TestMachinePoint derives the machine's second from two readings of
// /proc/stat and /proc/diskstats as the kernel prints them, and finds the
// disk of a directory from a mount table.
func TestMachinePoint(t *testing.T) {
	const mountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 27 0:30 / /tmp/ram rw - tmpfs tmpfs rw
31 27 254:1 / /data rw - ext4 /dev/vda1 rw
`
	for dir, want := range map[string]string{"/tmp/confab-bench-1": "254:0", "/tmp/ram/x": "0:30", "/data": "254:1", "/database": "254:0"} {
		if got := diskIn(mountinfo, dir); got != want {
			t.Errorf("disk of %s: %q, want %q", dir, got, want)
		}
	}

	const stat0 = "cpu  1000 0 500 8000 100 0 50 10 0 0\ncpu0 1 2 3 4 5 6 7 8\n"
	const stat1 = "cpu  1100 0 550 8300 130 0 50 30 0 0\ncpu0 1 2 3 4 5 6 7 8\n"
	const disk0 = " 254       0 vda 100 0 800 50 1000 10 16000 500 0 2000 900 10 0 80 5 400 120\n 254       1 vda1 1 1 1 1 1 1 1 1 0 1 1 1 1 1 1 1 1\n"
	const disk1 = " 254       0 vda 100 0 800 50 1400 12 24000 900 2 2600 1500 14 0 96 9 600 220\n 254       1 vda1 1 1 1 1 1 1 1 1 0 1 1 1 1 1 1 1 1\n"
	at := time.Unix(100, 0)
	read := func(stat, disk string, at time.Time) machineSample {
		m := machineSample{at: at}
		m.cpu, m.cpuOK = parseProcStatCPU(stat)
		m.disk, m.diskN, m.hasDisk = parseDiskstats(disk, "254:0")
		return m
	}
	a, b := read(stat0, disk0, at), read(stat1, disk1, at.Add(2*time.Second))
	if !a.cpuOK || !a.hasDisk || a.diskN != 17 {
		t.Fatalf("readings: %+v", a)
	}
	// Busy: user, nice, system, irq, softirq; not idle, I/O wait, steal.
	if got := busySeconds(b.cpu) - busySeconds(a.cpu); got != 1.5 {
		t.Errorf("busy seconds between the readings: %v, want 1.5", got)
	}
	p := machinePoint(a, b)
	if p == nil {
		t.Fatal("no point")
	}
	// CPU: 500 ticks in all, 300 idle, 30 I/O wait, 20 stolen.
	if p.IdlePct != 60 || p.IOWaitPct != 6 || p.StealPct != 4 {
		t.Errorf("CPU: %+v", p)
	}
	// Disk over 2 s: 400 writes of 8,000 sectors in 400 ms, 200 flushes in
	// 100 ms, 4 discards, 600 ms busy.
	if p.Writes != 200 || p.WriteMB != 2.05 || p.WriteAwaitMs != 1 || p.Flushes != 100 || p.FlushAwaitMs != 0.5 || p.Discards != 2 || p.BusyPct != 30 {
		t.Errorf("disk: %+v", p)
	}

	// An older kernel's 11 fields: no flushes or discards; no disk line: CPU only.
	old := read(stat1, " 254 0 vda 100 0 800 50 1400 12 24000 900 2 2600 1500\n", at.Add(2*time.Second))
	if q := machinePoint(read(stat0, " 254 0 vda 100 0 800 50 1000 10 16000 500 0 2000 900\n", at), old); q == nil || q.Writes != 200 || q.Flushes != 0 || q.Discards != 0 {
		t.Errorf("11-field diskstats: %+v", q)
	}
	if q := machinePoint(read(stat0, "", at), read(stat1, "", at.Add(time.Second))); q == nil || q.Writes != 0 || q.IdlePct != 60 {
		t.Errorf("no disk: %+v", q)
	}
	if machinePoint(machineSample{}, b) != nil || machinePoint(machineSample{at: at}, machineSample{at: at.Add(time.Second)}) != nil {
		t.Error("a point from no reading")
	}

	// Printed: the columns, and the commit path's summary over the seconds
	// that wrote.
	r := &Result{StoreTimeline: []StorePoint{
		{T: 1, Writes: 10, Batches: 5, SyncP50Ms: 9},
		{T: 2, Writes: 2000, Batches: 200, SyncP50Ms: 1, FlushP50Ms: 2, WindowMs: 100, Machine: p},
		{T: 3, Writes: 3000, Batches: 300, SyncP50Ms: 2, FlushP50Ms: 3, WindowMs: 200, Machine: p},
	}}
	var out strings.Builder
	r.WriteTimeline(&out)
	want := "commit path over 2 s of writes: sync p50 1.50 ms, flush p50 2.50 ms (means), 250 commits/s of 10.0 writes, window 150 ms/s; machine idle 60.0%, disk 2.0 MB/s, disk flush 0.50 ms"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), " 60 ") || !strings.Contains(out.String(), " - ") {
		t.Errorf("printed timeline lacks %q or the machine's columns:\n%s", want, out.String())
	}
	if len(timelineCharts(r)) != 5 {
		t.Errorf("%d charts, want the machine's as the fifth", len(timelineCharts(r)))
	}
}
