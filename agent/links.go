package agent

import (
	"net"
	"os"
	"strconv"
)

// linkAddr is the host and port of the meeting's links: the address it listens on, or, when it
// listens on every interface, an address of this machine that others can reach. localhost there
// would send every participant to their own machine.
func linkAddr(a net.Addr) string {
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
