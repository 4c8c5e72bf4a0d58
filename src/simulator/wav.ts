// Small real WAV files: served as test media and written as "recordings", so players and uploads see
// genuine audio rather than placeholder bytes.

/** 8 kHz mono 16-bit PCM: the telephony norm, and it keeps the files small. */
export const WAV_SAMPLE_RATE = 8000;

/** A sine tone (hz 0 = silence) of `sec` seconds as a complete RIFF/WAVE file. */
export function toneWav(sec: number, hz: number, amplitude = 0.3): Buffer {
  const samples = Math.max(1, Math.round(sec * WAV_SAMPLE_RATE));
  const dataBytes = samples * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  buf.writeUInt32LE(WAV_SAMPLE_RATE * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(dataBytes, 40);
  const peak = Math.round(32767 * amplitude);
  for (let i = 0; i < samples; i++) {
    const v = hz > 0 ? Math.round(peak * Math.sin((2 * Math.PI * hz * i) / WAV_SAMPLE_RATE)) : 0;
    buf.writeInt16LE(v, 44 + i * 2);
  }
  return buf;
}
