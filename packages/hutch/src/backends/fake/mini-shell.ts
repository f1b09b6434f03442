/**
 * The fake backend's tiny command interpreter. It understands just enough POSIX shell for the
 * conformance suite and engine tests to describe processes in commands that a real shell runs the
 * same way: `echo [-n] … [>&2 | > FILE]`, `printf`, `cat [FILE]`, `sleep N`, `pwd`, `printenv NAME`,
 * `true`, `false`, `exit N`, `ln -s TARGET LINK`, `cd DIR`, joined with `;` or `&&`.
 * Anything else fails with exit 127, as a shell would for an unknown command.
 */

/** What a command does, step by step; the fake process plays the steps in order. */
export type ShellStep =
  | { op: 'out'; stream: 'stdout' | 'stderr'; text: string }
  | { op: 'write'; path: string; text: string }
  | { op: 'cat-stdin' }
  | { op: 'cat-file'; path: string }
  | { op: 'sleep'; ms: number }
  | { op: 'pwd' }
  | { op: 'cd'; path: string }
  | { op: 'printenv'; name: string }
  | { op: 'symlink'; target: string; link: string }
  | { op: 'status'; code: number; stopUnlessZero: boolean }
  | { op: 'exit'; code: number };

/** Splits a command line into words, honouring single and double quotes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || current) words.push(current);
      current = '';
      has = false;
    } else current += ch;
  }
  if (has || current) words.push(current);
  return words;
}

/** Splits on `;` and `&&` outside quotes; `&&` makes the next command conditional. */
function splitCommands(script: string): Array<{ text: string; conditional: boolean }> {
  const out: Array<{ text: string; conditional: boolean }> = [];
  let current = '';
  let quote: string | null = null;
  let conditional = false;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current += ch;
    } else if (ch === ';' || ch === '\n' || (ch === '&' && script[i + 1] === '&')) {
      out.push({ text: current.trim(), conditional });
      conditional = ch === '&';
      if (conditional) i++;
      current = '';
    } else current += ch;
  }
  out.push({ text: current.trim(), conditional });
  return out.filter((c) => c.text.length > 0);
}

function unescape(text: string): string {
  return text.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

/** Compiles a shell command line into steps. Pure. */
export function compileShell(script: string): ShellStep[] {
  const steps: ShellStep[] = [];
  for (const { text, conditional } of splitCommands(script)) {
    const words = splitWords(text);
    if (conditional) steps.push({ op: 'status', code: 0, stopUnlessZero: true });
    steps.push(...compileCommand(words));
  }
  return steps;
}

function compileCommand(words: string[]): ShellStep[] {
  const [cmd, ...args] = words;
  let stream: 'stdout' | 'stderr' = 'stdout';
  let file: string | undefined;
  const last = args[args.length - 1];
  if (last === '>&2' || last === '1>&2') {
    stream = 'stderr';
    args.pop();
  } else if (args.length >= 2 && args[args.length - 2] === '>') {
    file = args.pop();
    args.pop();
  }
  const emit = (text: string): ShellStep[] => [file ? { op: 'write', path: file, text } : { op: 'out', stream, text }, { op: 'status', code: 0, stopUnlessZero: false }];
  switch (cmd) {
    case 'echo': {
      const noNewline = args[0] === '-n';
      const rest = noNewline ? args.slice(1) : args;
      return emit(rest.join(' ') + (noNewline ? '' : '\n'));
    }
    case 'printf':
      return emit(unescape(args[0] ?? ''));
    case 'cat':
      return [args[0] ? { op: 'cat-file', path: args[0] } : { op: 'cat-stdin' }];
    case 'sleep':
      return [{ op: 'sleep', ms: Math.round(Number(args[0] ?? 0) * 1000) }, { op: 'status', code: 0, stopUnlessZero: false }];
    case 'pwd':
      return [{ op: 'pwd' }];
    case 'cd':
      return [{ op: 'cd', path: args[0] ?? '/' }];
    case 'printenv':
      return [{ op: 'printenv', name: args[0] ?? '' }];
    case 'true':
      return [{ op: 'status', code: 0, stopUnlessZero: false }];
    case 'false':
      return [{ op: 'status', code: 1, stopUnlessZero: false }];
    case 'exit':
      return [{ op: 'exit', code: Number(args[0] ?? 0) }];
    case 'ln':
      if (args[0] === '-s' && args.length === 3) return [{ op: 'symlink', target: args[1]!, link: args[2]! }];
      break;
  }
  return [
    { op: 'out', stream: 'stderr', text: `sh: ${cmd}: command not found\n` },
    { op: 'status', code: 127, stopUnlessZero: false },
  ];
}
