/** Login form (the only page without a session). */
import { useState, type FormEvent } from "react";
import { useAuth } from "../lib/auth";
import { Button, Card, ErrorLine, Field, Input } from "../ui";

export function LoginPage() {
  const { login } = useAuth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    login(username, password).catch((err: Error) => setError(err.message));
  };
  return (
    <div className="mf-login">
      <Card title="Log in to MedFusion">
        <form onSubmit={submit}>
          <Field label="User name">
            <Input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
          </Field>
          <Field label="Password">
            <Input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <ErrorLine error={error} />
          <Button type="submit" variant="primary">
            Log in
          </Button>
        </form>
      </Card>
    </div>
  );
}
