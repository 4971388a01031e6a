/**
 * Small but real generated scenarios for the runner benches: images, adds, reopens, an export, a
 * permission conflict, backing chains and `show` output. Scenario i is one of a few shapes with its
 * own names and sizes, so a corpus of them covers more of the runner than one text repeated; all run
 * on both engines.
 */
const SHAPES = [exportShape, chainShape, rawShape] as const;

export function generatedScenario(i: number): string {
  return SHAPES[i % SHAPES.length]!(i).join("\n") + "\n";
}

/** An image, a qcow2 over it, a reopen, an export, a refused second writer, show graph and nodes. */
function exportShape(i: number): string[] {
  return [
    `scenario "generated ${i}"`,
    `tags bench ${i % 2 ? "odd" : "even"}`,
    `image d${i}.qcow2 qcow2 1M`,
    `add q${i}: qcow2 file=(f${i}: file filename=d${i}.qcow2)`,
    `reopen q${i} read-only=on`,
    `expect ro q${i}`,
    `export q${i} id=e${i}`,
    "show graph",
    `add x${i}: qcow2 file=f${i} -> error /Permission conflict/`,
    `unexport e${i}`,
    `del q${i}`,
    "show nodes",
  ];
}

/** A two-image backing chain opened from the header, its backing detached and named again. */
function chainShape(i: number): string[] {
  const size = `${1 + (i % 4)}M`;
  return [
    `scenario "generated ${i}"`,
    `tags bench chain`,
    `image b${i}.qcow2 qcow2 ${size}`,
    `image t${i}.qcow2 qcow2 ${size} backing=b${i}.qcow2 backing-fmt=qcow2`,
    `add t${i}: qcow2 file=(file filename=t${i}.qcow2)`,
    `expect exists t${i}/backing`,
    "show graph",
    `reopen t${i} backing=null`,
    `expect gone t${i}/backing`,
    `add b${i}: qcow2 file=(file filename=b${i}.qcow2)`,
    `reopen t${i} backing=b${i}`,
    `reopen t${i} backing=t${i} -> error "Making 't${i}' a backing child of 't${i}' would create a cycle"`,
    "show nodes",
  ];
}

/** Two raw nodes reopened read-only together in one transaction, then back. */
function rawShape(i: number): string[] {
  return [
    `scenario "generated ${i}"`,
    `tags bench raw`,
    `image r${i}.img raw 64K`,
    `image s${i}.img raw 64K`,
    `add r${i}: raw file=(file filename=r${i}.img)`,
    `add s${i}: raw file=(file filename=s${i}.img)`,
    `reopen {`,
    `  r${i} read-only=on`,
    `  s${i} read-only=on`,
    `}`,
    `expect ro r${i}`,
    `reopen s${i} read-only=off`,
    `del r${i}`,
    "show graph",
  ];
}
