using Microsoft.Build.Framework;
using Task = Microsoft.Build.Utilities.Task;

namespace Anemos.Tasks;

/// <summary>
/// Base of every Anemos task: cancellation, and the rule that no input ever crashes a task
/// (MSB4018). Anything unexpected becomes ANEMOS0001 with the message, never a stack trace.
/// </summary>
public abstract class AnemosTask : Task, ICancelableTask
{
    readonly CancellationTokenSource _cancellation = new();

    protected CancellationToken CancellationToken => _cancellation.Token;

    public void Cancel() => _cancellation.Cancel();

    public sealed override bool Execute()
    {
        try
        {
            ExecuteCore();
        }
        catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
        {
            Log.LogMessage(MessageImportance.High, $"{GetType().Name} was cancelled; nothing half-written was kept.");
            return false;
        }
        catch (AnemosException e)
        {
            LogDiagnostic(e.Diagnostic, e.File, e.Line, e.Arguments);
        }
        catch (Exception e)
        {
            LogDiagnostic(Diagnostics.InternalError, null, 0, GetType().Name, e.GetType().Name + ": " + e.Message);
        }
        return !Log.HasLoggedErrors;
    }

    protected abstract void ExecuteCore();

    protected void LogDiagnostic(Diagnostic diagnostic, string? file, int line, params object?[] arguments)
    {
        string message = diagnostic.Format(arguments);
        if (diagnostic.IsWarning)
            Log.LogWarning(null, diagnostic.Code, null, file ?? "", line, 0, 0, 0, message);
        else
            Log.LogError(null, diagnostic.Code, null, file ?? "", line, 0, 0, 0, message);
    }

    protected void LogDiagnostic(Diagnostic diagnostic, params object?[] arguments) => LogDiagnostic(diagnostic, null, 0, arguments);
}

/// <summary>Stops a task with one coded diagnostic. (File and line are init-only: a positional
/// file/line overload would silently take a string and an int meant for the message.)</summary>
public class AnemosException(Diagnostic diagnostic, params object?[] arguments) : Exception(diagnostic.Format(arguments))
{
    public Diagnostic Diagnostic { get; } = diagnostic;
    public string? File { get; init; }
    public int Line { get; init; }
    public object?[] Arguments { get; } = arguments;
}
