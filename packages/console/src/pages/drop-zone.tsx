import { useState } from 'preact/hooks';

/** A file picker that also takes a dropped file (the input stays the keyboard-usable control). */
export function DropZone({
  label,
  accept,
  disabled,
  onFile,
}: {
  label: string;
  accept?: string;
  disabled?: boolean;
  onFile: (f: File) => void;
}) {
  const [over, setOver] = useState(false);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop target; the file input inside is the keyboard-usable control
    <div
      class={`drop${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer?.files[0];
        if (f && !disabled) onFile(f);
      }}
    >
      <label>
        {label}
        <input
          type="file"
          accept={accept}
          disabled={disabled}
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            if (f) onFile(f);
            e.currentTarget.value = '';
          }}
        />
      </label>
    </div>
  );
}
