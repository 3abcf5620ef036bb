#!/usr/bin/env bash
# Builds the extraction evaluation corpus (bench/extraction.bench.mjs) from Debian documentation on
# this machine, with Debian tools, and the independent reference text of each document:
#   html/      pages of Debian documentation packages (/usr/share/doc: socat, groff, libffi, pip,
#              the Rust book (mdBook) and std API pages (rustdoc) of rust-doc) and man pages as HTML
#   pdf/       man pages typeset by groff (single column), two-column ms documents and tbl tables
#              (groff -ms), and the PDFs groff ships
#   docx/      Markdown of Debian packages converted by pandoc
#   markdown/  Markdown files of Debian packages
#   text/      plain-text documentation (copyright files, READMEs)
# References (refs/<type>/<name>.txt): pdftotext for PDF, pandoc for DOCX and Markdown, the file for
# text; HTML's reference is a DOM walk done by the bench itself (Python would do as well).
# Usage: bash bench/extraction-corpus.sh [dir]   (default /tmp/loam-extraction-corpus)
# Needs: apt-get install -y groff poppler-utils pandoc ghostscript (and rust-doc for rustdoc/mdBook).
set -euo pipefail
OUT=${1:-/tmp/loam-extraction-corpus}
rm -rf "$OUT"
mkdir -p "$OUT"/{html,pdf,docx,markdown,text} "$OUT"/refs/{pdf,docx,markdown,text}
export LC_ALL=C.UTF-8
for t in groff pdftotext pandoc; do command -v $t >/dev/null || { echo "missing $t (apt-get install -y groff poppler-utils pandoc)" >&2; exit 1; }; done

# --- HTML: real pages from documentation packages -------------------------------------------
n=0
for f in /usr/share/doc/socat/socat.html /usr/share/doc/base-passwd/users-and-groups.html \
  /usr/share/doc/groff-base/html/mom/{intro,typesetting,docprocessing,tables-of-contents,images}.html \
  /usr/share/doc/groff-base/html/pic-3.html /usr/share/doc/libffi8/html/{The-Basics,Types,Closure-Example}.html; do
  [ -f "$f" ] && cp "$f" "$OUT/html/$(echo "$f" | tr / _ | sed 's/^_usr_share_doc_//')" && n=$((n+1))
done
RD=/usr/share/doc/rust-doc/html
if [ -d "$RD" ]; then
  for f in book/ch03-02-data-types.html book/ch08-01-vectors.html book/ch12-01-accepting-command-line-arguments.html \
    book/ch06-01-defining-an-enum.html std/vec/struct.Vec.html std/option/enum.Option.html std/string/struct.String.html \
    reference/expressions/if-expr.html; do
    [ -f "$RD/$f" ] && cp "$RD/$f" "$OUT/html/rust_$(echo "$f" | tr / _)" && n=$((n+1))
  done
fi
for m in ls grep tar ssh find sed; do
  p=$(man -w "$m" 2>/dev/null) || continue
  (cd "$OUT" && zcat -f "$p" | groff -man -Thtml -P-l -P-r -P-I"$OUT/.img" 2>/dev/null > "$OUT/html/man_$m.html") && n=$((n+1))
done
echo "html: $n"

# --- PDF: groff (man pages, two columns, tables) and the PDFs groff ships --------------------
for m in ls grep tar find sed bash; do
  p=$(man -w "$m" 2>/dev/null) || continue
  zcat -f "$p" | groff -man -Tpdf 2>/dev/null > "$OUT/pdf/man_$m.pdf"
done
for f in /usr/share/doc/groff-base/pdf/automake.pdf.gz /usr/share/doc/groff-base/examples/mom/sample_docs.pdf.gz; do
  [ -f "$f" ] && zcat "$f" > "$OUT/pdf/groff_$(basename "$f" .gz)"
done
# Two columns (ms .2C) from the text of Debian copyright files and README.Debian.
i=0
for f in /usr/share/doc/{bash,coreutils,tar,grep,sed}/copyright; do
  [ -f "$f" ] || continue
  i=$((i+1))
  { printf '.TL\nTwo-column document %s\n.AU\nDebian\n.2C\n.LP\n' "$i"; sed -e 's/^[.'"'"']/\\\&&/' -e 's/^ *$/.PP/' "$f"; } | groff -ms -Tpdf 2>/dev/null > "$OUT/pdf/twocol_$i.pdf"
done
# Tables (tbl): installed packages with version and size, 40 rows a table.
for k in 1 2 3 4; do
  { printf '.TL\nInstalled packages, part %s\n.LP\n.TS H\nbox;\nl l r.\nPackage\tVersion\tSize\n_\n.TH\n' "$k"
    dpkg-query -W -f '${Package}\t${Version}\t${Installed-Size}\n' | awk -v k="$k" 'NR > (k-1)*40 && NR <= k*40'
    printf '.TE\n'; } | groff -t -ms -Tpdf 2>/dev/null > "$OUT/pdf/table_$k.pdf"
done
# Narrow columns, hyphenated (.hy 1): words broken at line ends, as in justified print.
i=0
for f in /usr/share/doc/{gzip,sed}/README*; do
  [ -f "$f" ] || continue
  i=$((i+1))
  { printf '.nr LL 2.5i\n.TL\nNarrow document %s\n.LP\n.hy 1\n' "$i"; zcat -f "$f" | sed -e 's/^[.'"'"']/\\\&&/' -e 's/^ *$/.PP/'; } | groff -ms -Tps 2>/dev/null | ps2pdf - "$OUT/pdf/narrow_$i.pdf"
done
for f in "$OUT"/pdf/*.pdf; do pdftotext -enc UTF-8 "$f" "$OUT/refs/pdf/$(basename "$f" .pdf).txt"; done
echo "pdf: $(ls "$OUT/pdf" | wc -l)"

# --- Markdown and DOCX (pandoc) ---------------------------------------------------------------
md=$(find /usr/share/doc -name '*.md' -size +2k -size -200k 2>/dev/null | sort | head -14)
for f in $md; do
  name=$(echo "$f" | sed 's|^/usr/share/doc/||' | tr / _)
  cp "$f" "$OUT/markdown/$name"
  pandoc -f markdown -t plain --wrap=none "$f" -o "$OUT/refs/markdown/${name%.md}.txt" 2>/dev/null || true
done
for f in $(echo "$md" | head -12); do
  name=$(echo "$f" | sed 's|^/usr/share/doc/||' | tr / _)
  name=${name%.md}
  pandoc -f markdown "$f" -o "$OUT/docx/$name.docx" 2>/dev/null || continue
  pandoc -f docx -t plain --wrap=none "$OUT/docx/$name.docx" -o "$OUT/refs/docx/$name.txt"
done
echo "markdown: $(ls "$OUT/markdown" | wc -l), docx: $(ls "$OUT/docx" | wc -l)"

# --- Plain text -------------------------------------------------------------------------------
for f in /usr/share/doc/{bash,git,curl,openssl,python3,perl,gzip,nodejs,sqlite3,vim}/copyright /usr/share/doc/bash/README*; do
  [ -f "$f" ] || continue
  name=$(echo "$f" | sed 's|^/usr/share/doc/||' | tr / _)
  zcat -f "$f" > "$OUT/text/$name.txt"
  cp "$OUT/text/$name.txt" "$OUT/refs/text/$name.txt"
done
echo "text: $(ls "$OUT/text" | wc -l)"
echo "corpus in $OUT: $(find "$OUT" -path "$OUT/refs" -prune -o -type f -print | wc -l) documents"
