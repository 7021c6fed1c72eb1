#!/bin/sh
# Pins every image the manifests and deploy/Dockerfile name by tag to the digest the tag
# has now (`influxdb:1.8` → `influxdb:1.8@sha256:…`; the tag stays, for people), so that a
# cluster runs exactly what was reviewed. Needs a registry: run it where one can be
# reached, review the diff, commit it. hasim's own image (hasim:*), built locally, is left
# alone; an image already pinned is left alone.
#
#   deploy/pin-images.sh [FILE…]    (default: calibration/k8s/*.yaml deploy/*.yaml deploy/Dockerfile)
#
# HASIM_DIGEST_CMD names another command that prints an image's digest (it is given the
# image as its one argument); the default asks the registry through docker buildx.
set -eu
cd "$(dirname "$0")/.."

digest() {
    if [ -n "${HASIM_DIGEST_CMD:-}" ]; then
        $HASIM_DIGEST_CMD "$1"
    else
        docker buildx imagetools inspect --format '{{.Manifest.Digest}}' "$1"
    fi
}

# The images a file names by tag: `image: NAME:TAG` lines and the Dockerfile's
# `ARG …_IMAGE=NAME:TAG`.
images() {
    sed -n -e 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]@"]*:[^[:space:]@"]*\)[[:space:]]*$/\1/p' \
        -e 's/^ARG [A-Z_]*_IMAGE=\([^[:space:]@]*:[^[:space:]@]*\)$/\1/p' "$1" |
        grep -v '^hasim:' | sort -u || true
}

if [ "$#" -eq 0 ]; then
    set -- calibration/k8s/*.yaml deploy/*.yaml deploy/Dockerfile
fi
for file in "$@"; do
    list=$(images "$file")
    [ -n "$list" ] || continue
    tmp=$(mktemp "$file.XXXXXX")
    cp "$file" "$tmp"
    for image in $list; do
        d=$(digest "$image")
        case "$d" in
        sha256:*) ;;
        *)
            rm -f "$tmp"
            echo "pin-images: no digest for $image (got \"$d\"); $file is unchanged" >&2
            exit 1
            ;;
        esac
        if ! printf '%s\n' "$d" | grep -Eq '^sha256:[0-9a-f]{64}$'; then
            rm -f "$tmp"
            echo "pin-images: \"$d\" is not a digest ($image); $file is unchanged" >&2
            exit 1
        fi
        # The image at the end of its line only: a longer name that starts alike is another.
        sed -e "s|\\(image:[[:space:]]*\\)$image[[:space:]]*\$|\\1$image@$d|" \
            -e "s|^\\(ARG [A-Z_]*_IMAGE=\\)$image\$|\\1$image@$d|" "$tmp" >"$tmp.next"
        mv "$tmp.next" "$tmp"
        echo "$file: $image@$d"
    done
    # Replaced whole, only once every image of the file has its digest.
    chmod --reference="$file" "$tmp" 2>/dev/null || true
    mv "$tmp" "$file"
done
