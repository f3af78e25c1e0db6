#!/usr/bin/env bash
# Builds the release archives, dist/ledgerline-VERSION-linux-ARCH.tar.gz, for each ARCH given
# (default: amd64 arm64), and dist/SHA256SUMS over this version's archives.
#
# VERSION defaults to `git describe --tags --always --dirty` and is stamped into the binary
# (`ledgerline --version`). Each archive holds ledgerline-VERSION-linux-ARCH/ with the binary,
# README.md, LICENSE when there is one, docs/ and deploy/.
#
# The binary links statically whisper.cpp (built with PORTABLE=1: no tuning for this machine's CPU;
# for another architecture, with Debian's cross compiler: WHISPER_ARCH in scripts/whisper.sh), opus,
# opusfile, ogg, speexdsp, libstdc++ and libgomp. It needs at run time only glibc 2.34 or later and PortAudio
# (libportaudio2, which brings ALSA and JACK's client library); the build refuses a binary that
# needs more.
# The other architecture's libraries come from Debian's multiarch packages: `make release-deps`.
set -euo pipefail
cd "$(dirname "$0")/.."

go=${GO:-go}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
version=${version//\//-}
dist=${DIST:-dist}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
host=$($go env GOHOSTARCH)
# Archives list their files in one order, owned by root, dated by the last commit: the same tree
# gives the same archive.
mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)

log() { echo "release: $*" >&2; }
die() { log "$*"; exit 1; }

# What the binary may need at run time: glibc's libraries and PortAudio.
allowed_needed='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|libresolv\.so\.2|libgcc_s\.so\.1|libportaudio\.so\.2|ld-linux-(x86-64|aarch64)\.so\.[0-9]+)$'

build() { # $1 = arch
  local arch=$1 triplet
  case $arch in
    amd64) triplet=x86_64-linux-gnu ;;
    arm64) triplet=aarch64-linux-gnu ;;
    *) die "no release for $arch: amd64 or arm64" ;;
  esac
  local cc=${CC:-gcc} ar=ar name="ledgerline-$version-linux-$arch"
  local work="$dist/.work/$arch"
  local -a goenv=(CGO_ENABLED=1 GOOS=linux GOARCH="$arch")
  if [ "$arch" != "$host" ]; then
    cc=$triplet-gcc ar=$triplet-ar
    command -v "$cc" >/dev/null || die "$cc is missing: run 'make release-deps' first"
    goenv+=(CC="$cc" CXX="$triplet-g++" PKG_CONFIG_LIBDIR="/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig")
  fi
  [ -f "/usr/lib/$triplet/pkgconfig/portaudio-2.0.pc" ] ||
    die "PortAudio for $arch is missing (/usr/lib/$triplet): run 'make release-deps' first"

  local settings cflags="" ldflags=""
  settings=$(PORTABLE=1 WHISPER_ARCH=$arch bash scripts/whisper.sh)
  while IFS= read -r line; do
    case $line in
      CGO_CFLAGS=*) cflags=${line#*=} ;;
      CGO_LDFLAGS=*) ldflags=${line#*=} ;;
    esac
  done <<<"$settings"

  # A directory of static libraries only, searched before the system's: the linker takes the .a
  # there for these names rather than the shared library of the same name. opusfile's is a linker
  # script that brings the libraries it needs along, since its package names only -lopusfile.
  rm -rf "$work" && mkdir -p "$work/lib"
  local lib path
  for lib in libopus.a libopusfile.a libogg.a libspeexdsp.a; do
    [ -f "/usr/lib/$triplet/$lib" ] || die "/usr/lib/$triplet/$lib is missing: run 'make release-deps' first"
  done
  ln -s "/usr/lib/$triplet/libopus.a" "$work/lib/libopus.a"
  ln -s "/usr/lib/$triplet/libspeexdsp.a" "$work/lib/libspeexdsp.a"
  echo "GROUP ( /usr/lib/$triplet/libopusfile.a /usr/lib/$triplet/libogg.a /usr/lib/$triplet/libopus.a )" >"$work/lib/libopusfile.a"
  path=$("$cc" -print-file-name=libgomp.a)
  [ -f "$path" ] || die "$cc has no libgomp.a"
  ln -s "$path" "$work/lib/libgomp.a"
  # libstdc++'s random_device calls arc4random when the build machine's glibc has it (2.36): a
  # definition on getrandom (2.25), linked with libstdc++, keeps the binary running on glibc 2.34
  # (Ubuntu 22.04, EL 9).
  path=$("$cc" -print-file-name=libstdc++.a)
  [ -f "$path" ] || die "$cc has no libstdc++.a"
  printf '%s\n' '#include <stdint.h>' '#include <sys/random.h>' \
    'uint32_t arc4random(void) { uint32_t v; while (getrandom(&v, sizeof v, 0) != sizeof v) {} return v; }' |
    "$cc" -O2 -fPIC -c -x c -o "$work/arc4random.o" -
  "$ar" rcs "$work/libarc4random.a" "$work/arc4random.o"
  echo "GROUP ( $path $PWD/$work/libarc4random.a )" >"$work/lib/libstdc++.a"

  local stage="$work/$name"
  mkdir -p "$stage"
  log "building $name"
  env "${goenv[@]}" CGO_CFLAGS="$cflags" CGO_LDFLAGS="-L$PWD/$work/lib $ldflags" \
    "$go" build -trimpath -ldflags "-s -w -X main.buildVersion=$version" -o "$stage/ledgerline" ./cmd/ledgerline

  local needed
  needed=$(readelf -d "$stage/ledgerline" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  while IFS= read -r lib; do
    [[ $lib =~ $allowed_needed ]] || die "$name needs $lib at run time; only glibc and PortAudio are allowed"
  done <<<"$needed"
  local glibc
  glibc=$(readelf -V "$stage/ledgerline" | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n | tail -1)
  [ "${glibc#GLIBC_2.}" -le 34 ] || die "$name needs $glibc; releases run on glibc 2.34 and later"
  log "$name needs at run time: ${needed//$'\n'/ } ($glibc)"

  cp README.md "$stage/"
  [ -f LICENSE ] && cp LICENSE "$stage/"
  cp -R docs deploy "$stage/"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$work" -cf - "$name" |
    gzip -9n >"$dist/$name.tar.gz"
  rm -rf "$work"
  log "wrote $dist/$name.tar.gz ($(du -h "$dist/$name.tar.gz" | cut -f1))"
}

mkdir -p "$dist"
for arch in "${archs[@]}"; do
  build "$arch"
done
rmdir "$dist/.work" 2>/dev/null || true
(cd "$dist" && sha256sum "ledgerline-$version-linux-"*.tar.gz >SHA256SUMS)
log "wrote $dist/SHA256SUMS"
cat "$dist/SHA256SUMS"
