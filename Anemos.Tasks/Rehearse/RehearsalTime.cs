namespace Anemos.Tasks.Rehearse;

/// <summary>How the rehearsal's messages write a duration: 41s, 9m12s.</summary>
public static class RehearsalTime
{
    public static string Format(TimeSpan time) =>
        time.TotalMinutes >= 1 ? $"{(int)time.TotalMinutes}m{time.Seconds:00}s" : $"{time.TotalSeconds:0}s";
}
