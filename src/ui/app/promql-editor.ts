/**
 * The PromQL editor: CodeMirror 6 with Prometheus' own PromQL language support
 * (`@prometheus-io/codemirror-promql`: highlighting, linting, autocomplete of metric names, labels
 * and values fetched from this querier's API). Enter runs the query, Shift+Enter adds a newline.
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, insertNewline } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { authHeaders } from "./api-client.ts";

/** A mounted editor. */
export interface PromQLEditor {
  value(): string;
  setValue(text: string): void;
  focus(): void;
}

/** Mounts the editor into `host`; `onRun` is called on Enter. */
export function createPromQLEditor(host: HTMLElement, initial: string, onRun: () => void): PromQLEditor {
  const promql = new PromQLExtension().setComplete({
    remote: {
      url: new URL(".", location.href).href.replace(/\/$/, ""),
      httpMethod: "POST",
      fetchFn: (input, init) => {
        const headers = new Headers(init?.headers);
        authHeaders().forEach((v, k) => headers.set(k, v));
        return fetch(input, { ...init, headers });
      },
    },
  });
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: initial,
      extensions: [
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle),
        placeholder("Expression (press Enter to execute)"),
        EditorView.lineWrapping,
        keymap.of([
          { key: "Enter", run: () => (onRun(), true) },
          { key: "Shift-Enter", run: insertNewline },
          ...closeBracketsKeymap,
          ...completionKeymap,
          ...historyKeymap,
          ...defaultKeymap,
        ]),
        promql.asExtension(),
      ],
    }),
  });
  return {
    value: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
  };
}
