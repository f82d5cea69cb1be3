package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The machine's figures of the store timeline (timeline.go), read by the
// generator from /proc at each sample: they tell a slow second of the
// store's commits that came from the disk or from CPUs short of time from
// one that came from the server.

// MachinePoint is the machine's share of a second of the timeline: its
// CPUs' idle, I/O-wait and stolen time (% of all CPUs, /proc/stat), and the
// disk holding the temporary directory, where the bench's server keeps its
// data (/proc/diskstats): a commit's fsync waits for that disk, so a slow
// second of the store shows here whether the disk was slow or busy with
// other writes, or the CPUs short.
type MachinePoint struct {
	IdlePct   float64 `json:"cpu_idle_pct"`
	IOWaitPct float64 `json:"cpu_iowait_pct"`
	StealPct  float64 `json:"cpu_steal_pct"`

	// Writes are the disk's completed write requests per second, WriteMB
	// their megabytes; WriteAwaitMs the mean time a write took (queue and
	// service). Flushes are its cache flushes (each fsync is at least one),
	// FlushAwaitMs their mean time; Discards the trims (a file system
	// mounted with discard issues them as files are deleted). BusyPct is
	// the share of the second the disk had a request in flight.
	Writes       float64 `json:"disk_writes_per_sec"`
	WriteMB      float64 `json:"disk_write_mb_per_sec"`
	WriteAwaitMs float64 `json:"disk_write_await_ms"`
	Flushes      float64 `json:"disk_flushes_per_sec"`
	FlushAwaitMs float64 `json:"disk_flush_await_ms"`
	Discards     float64 `json:"disk_discards_per_sec"`
	BusyPct      float64 `json:"disk_busy_pct"`
}

// machineSample is one reading of the counters MachinePoint derives from.
type machineSample struct {
	at      time.Time
	cpu     [8]uint64 // user nice system idle iowait irq softirq steal (clock ticks)
	cpuOK   bool
	disk    [17]uint64 // /proc/diskstats' fields after the name
	diskN   int        // how many of them the kernel gave
	hasDisk bool
}

// readMachine reads /proc/stat and the line of disk (major:minor) in
// /proc/diskstats; what cannot be read is left out.
func readMachine(disk string, now time.Time) machineSample {
	m := machineSample{at: now}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		m.cpu, m.cpuOK = parseProcStatCPU(string(b))
	}
	if disk != "" {
		if b, err := os.ReadFile("/proc/diskstats"); err == nil {
			m.disk, m.diskN, m.hasDisk = parseDiskstats(string(b), disk)
		}
	}
	return m
}

// machineBusySeconds is the CPU time all CPUs together have spent busy
// since boot (user, nice, system, irq and softirq in /proc/stat: not idle,
// I/O wait or stolen), or -1 if /proc/stat cannot be read.
func machineBusySeconds() float64 {
	m := readMachine("", time.Time{})
	if !m.cpuOK {
		return -1
	}
	return busySeconds(m.cpu)
}

// busySeconds sums the busy counters of a /proc/stat "cpu" line, in
// seconds (the counters are in USER_HZ, 100 per second on Linux).
func busySeconds(c [8]uint64) float64 {
	return float64(c[0]+c[1]+c[2]+c[5]+c[6]) / 100
}

// parseProcStatCPU returns the first eight counters of /proc/stat's "cpu"
// line (all CPUs together).
func parseProcStatCPU(s string) (c [8]uint64, ok bool) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return c, false
	}
	for i := range c {
		v, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return c, false
		}
		c[i] = v
	}
	return c, true
}

// parseDiskstats returns the counters of device dev ("major:minor") in
// /proc/diskstats, and how many the kernel gave (11 before Linux 4.18, 15
// with discards, 17 with flushes).
func parseDiskstats(s, dev string) (c [17]uint64, n int, ok bool) {
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 14 || f[0]+":"+f[1] != dev {
			continue
		}
		for i, v := range f[3:] {
			if i == len(c) {
				break
			}
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, 0, false
			}
			c[i] = x
			n = i + 1
		}
		return c, n, true
	}
	return c, 0, false
}

// diskOf returns the major:minor of the file system holding dir, from the
// mount table (mountinfo's third field, of the longest mount point that
// contains dir); "" if not found.
func diskOf(dir, mountinfo string) string {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return ""
	}
	return diskIn(string(b), dir)
}

func diskIn(mountinfo, dir string) string {
	best, dev := -1, ""
	for line := range strings.Lines(mountinfo) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		if !(dir == mp || mp == "/" || strings.HasPrefix(dir, mp+"/")) || len(mp) <= best {
			continue
		}
		best, dev = len(mp), f[2]
	}
	return dev
}

// machinePoint derives the second between two readings; nil if there is
// nothing to derive.
func machinePoint(a, b machineSample) *MachinePoint {
	dt := b.at.Sub(a.at).Seconds()
	if a.at.IsZero() || dt <= 0 {
		return nil
	}
	var p MachinePoint
	ok := false
	if a.cpuOK && b.cpuOK {
		var d [8]float64
		var all float64
		for i := range d {
			d[i] = float64(b.cpu[i] - min(a.cpu[i], b.cpu[i]))
			all += d[i]
		}
		if all > 0 {
			p.IdlePct, p.IOWaitPct, p.StealPct = round1(100*d[3]/all), round1(100*d[4]/all), round1(100*d[7]/all)
			ok = true
		}
	}
	if a.hasDisk && b.hasDisk {
		d := func(i int) float64 { return float64(b.disk[i] - min(a.disk[i], b.disk[i])) }
		p.Writes = round1(d(4) / dt)
		p.WriteMB = round2(d(6) * 512 / 1e6 / dt)
		if w := d(4); w > 0 {
			p.WriteAwaitMs = round2(d(7) / w)
		}
		p.BusyPct = round1(min(100, d(9)/10/dt))
		if b.diskN >= 15 {
			p.Discards = round1(d(11) / dt)
		}
		if b.diskN >= 17 {
			p.Flushes = round1(d(15) / dt)
			if f := d(15); f > 0 {
				p.FlushAwaitMs = round2(d(16) / f)
			}
		}
		ok = true
	}
	if !ok {
		return nil
	}
	return &p
}

// columns prints the point's figures as the timeline's last nine columns,
// "-" for each when there are none.
func (m *MachinePoint) columns() string {
	if m == nil {
		return strings.Repeat("-\t", 9)
	}
	return fmt.Sprintf("%.0f\t%.1f\t%.1f\t%.0f\t%.1f\t%.2f\t%.0f\t%.2f\t%.0f\t",
		m.IdlePct, m.IOWaitPct, m.StealPct, m.Writes, m.WriteMB, m.WriteAwaitMs, m.Flushes, m.FlushAwaitMs, m.BusyPct)
}
