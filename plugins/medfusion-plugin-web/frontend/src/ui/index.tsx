/** The app's own small component library: every page builds from these, so that buttons, fields,
 * cards and tables look and behave alike (and disabled controls say why). */
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";
import { Link } from "react-router-dom";
import { useAuth } from "../lib/auth";

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "danger" | "plain" };

/** A button; `variant` picks the colour. */
export function Button({ variant = "plain", className = "", type = "button", ...rest }: ButtonProps) {
  return <button type={type} className={`mf-btn mf-btn-${variant} ${className}`} {...rest} />;
}

/** A button that changes something: disabled for viewers (with a tooltip saying so). */
export function ActionButton({ disabled, title, ...rest }: ButtonProps) {
  const { canMutate } = useAuth();
  return (
    <Button
      disabled={!canMutate || disabled}
      title={canMutate ? title : "viewers cannot change anything"}
      data-mutating="true"
      {...rest}
    />
  );
}

/** A labelled field around any control. */
export function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="mf-field">
      <span className="mf-label">{label}</span>
      {children}
      {hint && <span className="mf-hint">{hint}</span>}
    </label>
  );
}

/** A text input. */
export function Input(props: InputHTMLAttributes<HTMLInputElement>) {
  return <input className="mf-input" {...props} />;
}

/** A select. */
export function Select(props: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select className="mf-input" {...props} />;
}

/** A titled card. */
export function Card({ title, actions, children }: { title?: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="mf-card">
      {(title || actions) && (
        <header className="mf-card-head">
          {title && <h2>{title}</h2>}
          <div className="mf-row">{actions}</div>
        </header>
      )}
      {children}
    </section>
  );
}

/** A page with its heading. */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <main className="mf-page">
      <header className="mf-page-head">
        <h1>{title}</h1>
        <div className="mf-row">{actions}</div>
      </header>
      {children}
    </main>
  );
}

/** A coloured status word (running, finished, failed, ...). */
export function Badge({ status }: { status: string }) {
  return <span className={`mf-badge mf-badge-${status.toLowerCase()}`}>{status}</span>;
}

/** An error line (nothing when there is no error). */
export function ErrorLine({ error }: { error: string | null | undefined }) {
  return error ? (
    <p role="alert" className="mf-error">
      {error}
    </p>
  ) : null;
}

/** A progress bar for a fraction in [0, 1]. */
export function Progress({ value }: { value: number }) {
  return <progress className="mf-progress" max={1} value={value} />;
}

/** A card holding a log's text (scrolls; `testId` names it for tests). */
export function LogCard({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <Card title="Log">
      <pre className="mf-log" data-testid={testId}>
        {children}
      </pre>
    </Card>
  );
}

/** A link to the training monitor of each run id, shown by its first 8 characters. */
export function RunLinks({ ids }: { ids: string[] }) {
  return (
    <>
      {ids.map((run) => (
        <Link key={run} to={`/monitor/${run}`}>
          {run.slice(0, 8)}{" "}
        </Link>
      ))}
    </>
  );
}
