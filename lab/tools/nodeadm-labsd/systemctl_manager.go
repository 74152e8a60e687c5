//go:build linux

// Lab replacement for nodeadm's internal/daemon/systemd.go (swapped in with `go build -overlay`
// by lab/build-nodeadm-current.sh). nodeadm talks to systemd over D-Bus; the lab has no systemd
// as PID 1, so this manager runs `systemctl` instead, which in the lab is lab/lib/fake-systemctl.sh
// (it starts the daemons the way our units do). Everything else in the binary is nodeadm as built
// from the pinned commit.
package daemon

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

var _ DaemonManager = &systemctlDaemonManager{}

type systemctlDaemonManager struct{}

func NewDaemonManager() (DaemonManager, error) {
	return &systemctlDaemonManager{}, nil
}

func getServiceUnitName(name string) string {
	return fmt.Sprintf("%s.service", name)
}

func systemctl(args ...string) error {
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (m *systemctlDaemonManager) waitForStatus(name string, want DaemonStatus) error {
	for i := 0; i < 30; i++ {
		if s, _ := m.GetDaemonStatus(name); s == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not reach status %s", getServiceUnitName(name), want)
}

func (m *systemctlDaemonManager) StartDaemon(name string) error {
	if err := systemctl("start", getServiceUnitName(name)); err != nil {
		return err
	}
	return m.waitForStatus(name, DaemonStatusRunning)
}

func (m *systemctlDaemonManager) StopDaemon(name string) error {
	if err := systemctl("stop", getServiceUnitName(name)); err != nil {
		return err
	}
	return m.waitForStatus(name, DaemonStatusStopped)
}

func (m *systemctlDaemonManager) RestartDaemon(name string) error {
	if err := systemctl("restart", getServiceUnitName(name)); err != nil {
		return err
	}
	return m.waitForStatus(name, DaemonStatusRunning)
}

func (m *systemctlDaemonManager) GetDaemonStatus(name string) (DaemonStatus, error) {
	if exec.Command("systemctl", "is-active", "--quiet", getServiceUnitName(name)).Run() == nil {
		return DaemonStatusRunning, nil
	}
	return DaemonStatusStopped, nil
}

func (m *systemctlDaemonManager) EnableDaemon(name string) error {
	return systemctl("enable", getServiceUnitName(name))
}

func (m *systemctlDaemonManager) DisableDaemon(name string) error {
	return systemctl("disable", getServiceUnitName(name))
}

func (m *systemctlDaemonManager) Close() {}
