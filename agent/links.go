package agent

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// PublicBase checks the address a meeting is reached at from outside, when that is not the one it
// listens on (behind a reverse proxy, or under another name), and returns the base its links are
// built on: scheme, host and path prefix, without a trailing slash. A query or fragment would end
// up in the middle of every link, and credentials in every link shared, so neither is allowed.
func PublicBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" ||
		u.User != nil || strings.ContainsAny(raw, "?#") {
		return "", fmt.Errorf("agent: public URL %q must be an absolute http or https URL with neither credentials, query nor fragment, such as https://meet.example.com or https://example.com/ledgerline", raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// origin is a base's scheme and host: what a browser on its pages sends as its Origin.
func origin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// LinkAddr is the host and port of the meeting's links: the address it listens on, or, when it
// listens on every interface, an address of this machine that others can reach. localhost there
// would send every participant to their own machine.
func LinkAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	var ips []net.IP
	if ip := outboundIP(); ip != nil {
		ips = append(ips, ip)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				ips = append(ips, ipn.IP)
			}
		}
	}
	name, _ := os.Hostname()
	return net.JoinHostPort(reachableHost(ips, name), strconv.Itoa(tcp.Port))
}

// outboundIP is the address this machine's traffic leaves by, nil when it has no route out.
// Dialing UDP only looks the route up: no packet is sent.
func outboundIP() net.IP {
	c, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1, never a real host
	if err != nil {
		return nil
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP
	}
	return nil
}

// reachableHost picks, from this machine's addresses in order of preference, the first IPv4 and
// else the first IPv6 address that another machine can reach (neither loopback, unspecified nor
// link-local, which would need a zone); with none, the machine's name.
func reachableHost(ips []net.IP, hostname string) string {
	var v6 net.IP
	for _, ip := range ips {
		switch {
		case !ip.IsGlobalUnicast():
		case ip.To4() != nil:
			return ip.String()
		case v6 == nil:
			v6 = ip
		}
	}
	if v6 != nil {
		return v6.String()
	}
	if hostname != "" {
		return hostname
	}
	// Nothing names this machine to others: only a browser on it can open the links.
	return "localhost"
}
